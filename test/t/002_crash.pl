# Copyright (c) turboquant contributors
#
# Crash recovery: pgbench inserts high-dimensional vectors (3072-d: a stripe
# of 7 pages, three WAL records per insert; 16000-d at 2 bits: 16+ pages, five
# or more records per insert, a new stripe every few dozen rows) when the
# server is stopped with `pg_ctl stop -m immediate`.  After recovery the index
# must pass tq_index_check with verify_codes (every row encoded again and
# compared with its stored codes, so torn or misplaced code pages are found),
# return exactly what an exact (sequential) search returns for the rows that
# survived — re-ranking every candidate of every list (c3_cos and c16_ip are
# partitioned: inserts go into lists) — and accept further inserts.  Two
# rounds, so the second crash hits an index that was already recovered once.
# Last, a crash in the middle of a partitioned build.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
jit = off
max_wal_size = 1GB
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION turboquant;
CREATE FUNCTION rv(dim int) RETURNS tqvector VOLATILE LANGUAGE sql
	AS 'SELECT array_agg(random() - 0.5)::tqvector FROM generate_series(1, dim)';
SELECT setseed(0.5);
CREATE TABLE queries (id int, dim int, v tqvector);
INSERT INTO queries SELECT i, d, rv(d) FROM generate_series(1, 3) i, unnest('{3072,16000}'::int[]) d;
CREATE TABLE c3 (id serial PRIMARY KEY, v tqvector(3072));
CREATE TABLE c16 (id serial PRIMARY KEY, v tqvector(16000));
INSERT INTO c3 (v) SELECT rv(3072) FROM generate_series(1, 40);
INSERT INTO c16 (v) SELECT rv(16000) FROM generate_series(1, 20);
CREATE INDEX c3_l2 ON c3 USING turboquant (v tqvector_l2_ops) WITH (bits = 4);
CREATE INDEX c3_cos ON c3 USING turboquant (v tqvector_cosine_ops) WITH (bits = 3, lists = 4);
CREATE INDEX c16_ip ON c16 USING turboquant (v tqvector_ip_ops) WITH (bits = 2, lists = 3);
});

my @indexes = ([ 'c3', '<->', 3072 ], [ 'c3', '<=>', 3072 ], [ 'c16', '<#>', 16000 ]);

# Index order (every candidate re-ranked) equals exact order; every row once.
sub check_results
{
	my ($step) = @_;
	for my $ix (@indexes)
	{
		my ($tab, $op, $dim) = @$ix;
		for my $q (1 .. 3)
		{
			my $query = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM $tab "
			  . "ORDER BY v $op (SELECT v FROM queries WHERE dim = $dim AND id = $q) LIMIT 20) x";
			my $got = $node->safe_psql('postgres',
				"SET enable_seqscan = off; SET turboquant.rerank = 100000; SET turboquant.probes = 100; $query");
			my $exact = $node->safe_psql('postgres',
				"SET enable_indexscan = off; SET enable_bitmapscan = off; $query");
			is($got, $exact, "$step: $tab $op query $q equals exact search");
		}
		my $all = $node->safe_psql('postgres',
			"SET enable_seqscan = off; SELECT count(*) = count(DISTINCT id) "
			  . "AND count(*) = (SELECT count(*) FROM $tab) FROM (SELECT id FROM $tab "
			  . "ORDER BY v $op (SELECT v FROM queries WHERE dim = $dim AND id = 1)) x");
		is($all, 't', "$step: $tab $op without LIMIT returns every row once");
	}
	my $plan = $node->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM c16 ORDER BY v <#> "
		  . "(SELECT v FROM queries WHERE dim = 16000 AND id = 1) LIMIT 20");
	like($plan, qr/Index Scan using c16_ip/, "$step: plan uses the index");
}

sub check_indexes
{
	my ($step) = @_;
	for my $idx ('c3_l2', 'c3_cos', 'c16_ip')
	{
		my ($ret, $out, $err) =
		  $node->psql('postgres', "SELECT tq_index_check('$idx', verify_codes => true)");
		is($ret, 0, "$step: tq_index_check('$idx') passes") or diag $err;
		note "$step: $idx has $out entries";
	}
}

my $script = $node->basedir . '/inserts.sql';
append_to_file($script, q{
INSERT INTO c3 (v) SELECT rv(3072);
INSERT INTO c16 (v) SELECT rv(16000);
BEGIN;
INSERT INTO c3 (v) SELECT rv(3072) FROM generate_series(1, 3);
INSERT INTO c16 (v) SELECT rv(16000);
COMMIT;
});

for my $round (1 .. 2)
{
	my $c3_before = $node->safe_psql('postgres', 'SELECT count(*) FROM c3');
	my ($out, $err) = ('', '');
	my $bench = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '2', '-j', '2', '-T', '120', '-f', $script,
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	# let inserts cross a few stripe boundaries, then pull the plug
	my $target = $c3_before + 150;
	ok($node->poll_query_until('postgres', "SELECT count(*) >= $target FROM c3"),
		"round $round: inserts under way");
	$node->stop('immediate');
	$bench->finish;    # pgbench fails: its connections are gone
	note "round $round: pgbench said: " . substr($err, 0, 300);

	$node->start;
	my $counts = $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM c3) || ' ' || (SELECT count(*) FROM c16)");
	note "round $round: rows after recovery (c3 c16): $counts";
	check_indexes("round $round, after recovery");
	check_results("round $round, after recovery");

	# the recovered index keeps working: slots, stripes, VACUUM
	$node->safe_psql(
		'postgres', q{
INSERT INTO c3 (v) SELECT rv(3072) FROM generate_series(1, 40);
INSERT INTO c16 (v) SELECT rv(16000) FROM generate_series(1, 20);
DELETE FROM c3 WHERE id % 5 = 0;
DELETE FROM c16 WHERE id % 5 = 0;
VACUUM c3, c16;
INSERT INTO c3 (v) SELECT rv(3072) FROM generate_series(1, 20);
INSERT INTO c16 (v) SELECT rv(16000) FROM generate_series(1, 10);
});
	check_indexes("round $round, inserts after recovery");
	check_results("round $round, inserts after recovery");
}

# A crash during a partitioned build: the build is not WAL-logged until its
# end, and its transaction never committed, so after recovery the index does
# not exist; the table is intact and a new build succeeds and passes the check.
$node->safe_psql('postgres', q{
CREATE TABLE big (id serial PRIMARY KEY, v tqvector(128));
INSERT INTO big (v) SELECT rv(128) FROM generate_series(1, 60000);
});
{
	my ($out, $err) = ('', '');
	my $build = IPC::Run::start(
		[
			'psql', '-X', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-c',
			'SET maintenance_work_mem = \'64MB\'; '
			  . 'CREATE INDEX big_idx ON big USING turboquant (v tqvector_l2_ops) WITH (lists = 300)'
		],
		'>', \$out, '2>', \$err);
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) > 0 FROM pg_stat_progress_create_index "
			  . "WHERE phase IN ('building index: sampling', 'building index: training', "
			  . "'building index: assigning and encoding', 'building index: writing')"),
		'partitioned build under way (its phases are reported)');
	$node->stop('immediate');
	$build->finish;
}
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'big_idx'"),
	'0', 'the crashed build left no index');
is($node->safe_psql('postgres', 'SELECT count(*) FROM big'), '60000', 'the table is intact');
$node->safe_psql('postgres',
	'CREATE INDEX big_idx ON big USING turboquant (v tqvector_l2_ops) WITH (lists = 300)');
is($node->safe_psql('postgres', "SELECT tq_index_check('big_idx')"), '60000',
	'the build after recovery passes tq_index_check');
is($node->safe_psql('postgres', "SELECT lists FROM tq_index_stats('big_idx')"), '300',
	'with its lists');

$node->stop;
done_testing();
