# Copyright (c) turboquant contributors
#
# WAL replay: a streaming standby must return exactly what the primary
# returns, after the index build, inserts, deletes + VACUUM, and inserts that
# reuse freed slots and create new stripes.  Modelled on contrib/bloom's
# t/001_wal.pl.  Covers every opclass and bit width, a 24-d table (many groups
# per stripe), a 1536-d one (a stripe spans several pages: every insert writes
# a continuation record and a head record) and a 3072-d column without typmod
# whose index is built empty (dimension set by the first insert; a stripe of
# 7 pages needs three WAL records per insert).  With turboquant.rerank = 0 the
# order is that of the stored codes, so the comparison is bit-for-bit.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# enable_seqscan = off makes every plan look costly enough to JIT: seconds lost
$primary->append_conf('postgresql.conf', 'jit = off');
$primary->start;
$primary->backup('backup');

# everything below reaches the standby through WAL, the extension included
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

# (table, operator, column dims) of every index; each query below runs per entry
my @indexes = (
	[ 's', '<->', 24 ],   [ 's', '<=>', 24 ], [ 's', '<#>', 24 ],
	[ 'b', '<->', 1536 ], [ 'b', '<=>', 1536 ],
	[ 'e', '<#>', 3072 ]);

# One script of many queries; its whole output is compared between nodes.
sub queries
{
	my $sql = "SET enable_seqscan = off;\n";
	for my $ix (@indexes)
	{
		my ($tab, $op, $dim) = @$ix;
		for my $q (1 .. 3)
		{
			my $qv = "(SELECT v FROM queries WHERE dim = $dim AND id = $q)";
			$sql .= "SELECT '$tab $op q$q';\n";
			$sql .= "SELECT string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM $tab ORDER BY v $op $qv LIMIT 10) x;\n";
			# estimate order: depends on the stored codes alone
			$sql .= "SET turboquant.rerank = 0;\n"
			  . "SELECT string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM $tab ORDER BY v $op $qv LIMIT 25) x;\n"
			  . "RESET turboquant.rerank;\n";
		}
		# past the re-rank window (several passes), and without a LIMIT
		$sql .= "SELECT string_agg(id::text, ',') FROM "
		  . "(SELECT id FROM $tab ORDER BY v $op "
		  . "(SELECT v FROM queries WHERE dim = $dim AND id = 4) LIMIT 300) x;\n";
		$sql .= "SELECT count(*), count(DISTINCT id), sum(id) FROM "
		  . "(SELECT id FROM $tab ORDER BY v $op "
		  . "(SELECT v FROM queries WHERE dim = $dim AND id = 5)) x;\n";
	}
	return $sql;
}

# Every index passes tq_index_check, every row's codes re-encoded and
# compared; returns "name=entries ..."
sub check_all
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(c.relname || '=' || tq_index_check(c.oid, verify_codes => true), ' ' ORDER BY c.relname) "
		  . "FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'turboquant'");
}

sub compare
{
	my ($step) = @_;
	$primary->wait_for_catchup($standby);
	my $sql = queries();
	my $expected = $primary->safe_psql('postgres', $sql);
	my $got = $standby->safe_psql('postgres', $sql);
	ok(length($expected) > 1000, "$step: queries return rows");
	is($got, $expected, "$step: standby results equal the primary's");

	my $entries = check_all($primary);
	like($entries, qr/^b_cos=\d+ b_l2=\d+ e_ip=\d+ s_cos=\d+ s_ip=\d+ s_l2=\d+$/,
		"$step: tq_index_check passes on the primary");
	# read-only: only needs AccessShareLock and an MVCC snapshot
	is(check_all($standby), $entries, "$step: tq_index_check passes on the standby");
	note "$step: $entries";
}

$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION turboquant;
CREATE FUNCTION rv(dim int) RETURNS tqvector VOLATILE LANGUAGE sql
	AS 'SELECT array_agg(random() - 0.5)::tqvector FROM generate_series(1, dim)';
SELECT setseed(0.25);
CREATE TABLE queries (id int, dim int, v tqvector);
INSERT INTO queries SELECT i, d, rv(d) FROM generate_series(1, 5) i, unnest('{24,1536,3072}'::int[]) d;

CREATE TABLE s (id serial PRIMARY KEY, v tqvector(24));
INSERT INTO s (v) SELECT rv(24) FROM generate_series(1, 600);
CREATE INDEX s_l2 ON s USING turboquant (v tqvector_l2_ops) WITH (bits = 2);
CREATE INDEX s_cos ON s USING turboquant (v tqvector_cosine_ops) WITH (bits = 3, lists = 8);
CREATE INDEX s_ip ON s USING turboquant (v tqvector_ip_ops) WITH (bits = 4);

CREATE TABLE b (id serial PRIMARY KEY, v tqvector(1536));
INSERT INTO b (v) SELECT rv(1536) FROM generate_series(1, 40);
CREATE INDEX b_l2 ON b USING turboquant (v tqvector_l2_ops) WITH (bits = 4);
CREATE INDEX b_cos ON b USING turboquant (v tqvector_cosine_ops) WITH (bits = 2, lists = 4);

CREATE TABLE e (id serial PRIMARY KEY, v tqvector);
CREATE INDEX e_ip ON e USING turboquant (v tqvector_ip_ops) WITH (bits = 4);
});
$primary->wait_for_catchup($standby);
my $plan = $standby->safe_psql('postgres',
	"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM b ORDER BY v <-> "
	  . "(SELECT v FROM queries WHERE dim = 1536 AND id = 1) LIMIT 10");
like($plan, qr/Index Scan using b_l2/, 'the standby scans the index');
compare('build');

$primary->safe_psql(
	'postgres', q{
INSERT INTO s (v) SELECT rv(24) FROM generate_series(1, 300);
INSERT INTO b (v) SELECT rv(1536) FROM generate_series(1, 30);
INSERT INTO e (v) SELECT rv(3072) FROM generate_series(1, 70);
});
compare('inserts after build');

$primary->safe_psql(
	'postgres', q{
DELETE FROM s WHERE id % 3 = 0;
DELETE FROM b WHERE id % 4 = 0;
DELETE FROM e WHERE id % 2 = 0;
VACUUM s, b, e;
});
compare('deletes and VACUUM');

my $sizes = "SELECT pg_relation_size('s_l2') || ' ' || pg_relation_size('b_l2') "
  . "|| ' ' || pg_relation_size('e_ip')";
my @before = split / /, $primary->safe_psql('postgres', $sizes);
$primary->safe_psql(
	'postgres', q{
INSERT INTO s (v) SELECT rv(24) FROM generate_series(1, 1500);
INSERT INTO b (v) SELECT rv(1536) FROM generate_series(1, 150);
INSERT INTO e (v) SELECT rv(3072) FROM generate_series(1, 130);
});
my @after = split / /, $primary->safe_psql('postgres', $sizes);
ok($after[$_] > $before[$_], "new stripes in index $_ ($before[$_] -> $after[$_] bytes)")
  for 0 .. 2;
compare('inserts reusing slots and adding stripes');

# updates move rows; a second VACUUM frees slots that inserts refill
$primary->safe_psql(
	'postgres', q{
UPDATE s SET v = rv(24) WHERE id % 7 = 1;
UPDATE e SET v = rv(3072) WHERE id % 5 = 1;
VACUUM s, e;
INSERT INTO b (v) SELECT rv(1536) FROM generate_series(1, 20);
});
compare('updates, VACUUM and inserts');

$standby->stop;
$primary->stop;
done_testing();
