# Copyright (c) turboquant contributors
#
# The turboquant index on pgvector's columns (turboquant_pgvector) through
# WAL: a streaming standby returns exactly what the primary returns, and a
# crashed primary comes back with the same answers, after the build, inserts,
# deletes + VACUUM and inserts that reuse the freed slots; every index passes
# tq_index_check with verify_codes on both nodes.  A vector(64) column under
# vector_cosine_ops at 2 bits and a halfvec(96) column under halfvec_l2_ops
# at 4 bits.  Skipped (as skipped) when pgvector is not installed.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', 'jit = off');
$primary->start;

if (!$primary->safe_psql('postgres',
		"SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"))
{
	$primary->stop;
	plan skip_all => 'pgvector is not installed';
}

$primary->safe_psql('postgres', 'CREATE EXTENSION turboquant_pgvector CASCADE');
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{
	SELECT setseed(0.3);
	CREATE TABLE items (id int PRIMARY KEY, v vector(64), h halfvec(96));
	INSERT INTO items
		SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) WHERE i > 0)::vector,
				  (SELECT array_agg(random() - 0.5) FROM generate_series(1, 96) WHERE i > 0)::halfvec
		FROM generate_series(1, 3000) i;
	CREATE TABLE queries AS SELECT id, v, h FROM items WHERE id <= 4;
	UPDATE queries SET v = (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) WHERE id > 0)::vector,
					   h = (SELECT array_agg(random() - 0.5) FROM generate_series(1, 96) WHERE id > 0)::halfvec;
	CREATE INDEX items_v ON items USING turboquant (v vector_cosine_ops) WITH (bits = 2);
	CREATE INDEX items_h ON items USING turboquant (h halfvec_l2_ops) WITH (bits = 4);
});

# Ids in index order for every query, exact and estimate order (rerank 0:
# the stored codes alone decide it, so equality checks the codes bit for bit).
my $queries = "SET enable_seqscan = off;\n";
for my $q (1 .. 4)
{
	for my $e ([ 'v', '<=>' ], [ 'h', '<->' ])
	{
		my ($col, $op) = @$e;
		my $qv = "(SELECT $col FROM queries WHERE id = $q)";
		$queries .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY $col $op $qv LIMIT 10) x;\n";
		$queries .= "SET turboquant.rerank = 0;\n"
		  . "SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY $col $op $qv LIMIT 30) x;\n"
		  . "RESET turboquant.rerank;\n";
	}
}

sub check_all
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT tq_index_check('items_v', verify_codes => true) || ' ' || tq_index_check('items_h', verify_codes => true)");
}

sub compare
{
	my ($step, $expect_entries) = @_;
	$primary->wait_for_catchup($standby);
	my $p = $primary->safe_psql('postgres', $queries);
	my $s = $standby->safe_psql('postgres', $queries);
	ok(length($p) > 100, "$step: the primary answers");
	is($s, $p, "$step: the standby returns what the primary returns");
	is(check_all($primary), "$expect_entries $expect_entries", "$step: primary indexes check");
	is(check_all($standby), "$expect_entries $expect_entries", "$step: standby indexes check");
	return $p;
}

compare('build', 3000);

$primary->safe_psql('postgres', q{
	INSERT INTO items
		SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) WHERE i > 0)::vector,
				  (SELECT array_agg(random() - 0.5) FROM generate_series(1, 96) WHERE i > 0)::halfvec
		FROM generate_series(3001, 3500) i;
});
compare('inserts', 3500);

$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 4 = 0; VACUUM items;');
compare('delete + vacuum', 2625);

$primary->safe_psql('postgres', q{
	INSERT INTO items
		SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) WHERE i > 0)::vector,
				  (SELECT array_agg(random() - 0.5) FROM generate_series(1, 96) WHERE i > 0)::halfvec
		FROM generate_series(4001, 4400) i;
});
my $before = compare('inserts into freed slots', 3025);

# crash: the primary replays its own WAL
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', $queries), $before, 'after a crash the primary returns the same');
is(check_all($primary), '3025 3025', 'after a crash the indexes check');

$standby->stop;
$primary->stop;
done_testing();
