# Copyright (c) turboquant contributors
#
# Filtered queries: WHERE category = x ORDER BY v <op> q LIMIT k must return k
# rows however selective the filter (50%, 1%, 0.1% of 20000 clustered rows), because the
# scan keeps going, pass after pass and list after list, until the executor
# has its rows.  The indexes are partitioned (20000 rows: 80 lists by
# default).  With every list probed and every candidate re-ranked the rows are
# those of exact search; at the default probes and depth they are still k
# distinct rows passing the filter, mostly the right ones.  Also: LIMIT larger than turboquant.rerank, and no LIMIT at all (every
# row exactly once, even with rerank = 0).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', 'jit = off');
$node->start;

my $nrows = 20000;
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION turboquant;
SELECT setseed(0.125);
-- clustered data (60 centres, noise around each), as embeddings are: lists
-- then partition the table the way they are meant to
CREATE TABLE centres AS
	SELECT c, array_agg(random() - 0.5) AS x FROM generate_series(1, 60) c, generate_series(1, 96) d
	GROUP BY c;
CREATE FUNCTION near(c int, noise real) RETURNS tqvector VOLATILE LANGUAGE sql
	AS 'SELECT array_agg(x[d] + (random() - 0.5) * noise ORDER BY d)::tqvector
		FROM centres, generate_series(1, 96) d WHERE centres.c = near.c';
CREATE TABLE queries (id int, v tqvector);
INSERT INTO queries SELECT i, near(1 + (i * 17) % 60, 0.6) FROM generate_series(1, 3) i;
-- c2: 50%, c100: 1%, c1000: 0.1% (20 rows each), spread over the table
CREATE TABLE f (id int PRIMARY KEY, c2 int, c100 int, c1000 int, v tqvector(96));
INSERT INTO f SELECT i, i % 2, (i * 7919) % 100, (i * 104729) % 1000, near(1 + i % 60, 0.5)
	FROM generate_series(1, $nrows) i;
CREATE INDEX f_l2 ON f USING turboquant (v tqvector_l2_ops) WITH (bits = 2);
CREATE INDEX f_cos ON f USING turboquant (v tqvector_cosine_ops) WITH (bits = 3);
CREATE INDEX f_ip ON f USING turboquant (v tqvector_ip_ops) WITH (bits = 4);
ANALYZE f;
});

my %ops = ('<->' => 'f_l2', '<=>' => 'f_cos', '<#>' => 'f_ip');
my $index = 'SET enable_seqscan = off';
my $exact = 'SET enable_indexscan = off; SET enable_bitmapscan = off';
my $everything = "$index; SET turboquant.rerank = 100000; SET turboquant.probes = 32768";

# the default for 20000 rows is a partitioned index
for my $idx (sort values %ops)
{
	is($node->safe_psql('postgres', "SELECT lists FROM tq_index_stats('$idx')"),
		'80', "$idx has 80 lists");
}

# ids of the first $limit rows, comma-separated, in result order
sub ids
{
	my ($settings, $op, $q, $where, $limit) = @_;
	return $node->safe_psql('postgres',
		"$settings; SELECT coalesce(string_agg(id::text, ','), '') FROM (SELECT id FROM f "
		  . "WHERE $where ORDER BY v $op (SELECT v FROM queries WHERE id = $q) LIMIT $limit) x");
}

for my $op (sort keys %ops)
{
	my $idx = $ops{$op};
	like(
		$node->safe_psql('postgres',
			"$index; EXPLAIN (COSTS OFF) SELECT id FROM f WHERE c1000 = 7 ORDER BY v $op "
			  . "(SELECT v FROM queries WHERE id = 1) LIMIT 10"),
		qr/Index Scan using $idx/, "$idx: filtered query uses the index");

	my ($hits, $total) = (0, 0);
	for my $filter ('c2 = 1', 'c100 = 42', 'c1000 = 7', 'c1000 = 999')
	{
		for my $q (1 .. 3)
		{
			my $name = "$idx, $filter, query $q";
			my $truth = ids($exact, $op, $q, $filter, 10);
			my @truth = split /,/, $truth;
			is(scalar @truth, 10, "$name: exact search finds 10 rows");

			my @got = split /,/, ids($index, $op, $q, $filter, 10);
			my %seen;
			is(scalar(grep { !$seen{$_}++ } @got), 10, "$name: 10 distinct rows");
			my %in = map { $_ => 1 } @truth;
			$hits += grep { $in{$_} } @got;
			$total += 10;

			is(ids($everything, $op, $q, $filter, 10),
				$truth, "$name: every candidate re-ranked equals exact search");
		}
	}
	note "$idx: recall of filtered queries at the default re-rank depth: $hits/$total";
	cmp_ok($hits / $total, '>=', 0.8, "$idx: filtered queries find the nearest rows");

	# every returned row passes the filter: the executor checked it
	is( $node->safe_psql('postgres',
			"$index; SELECT count(*) FILTER (WHERE c100 = 42) || ' ' || count(DISTINCT id) "
			  . "FROM (SELECT id, c100 FROM f WHERE c100 = 42 ORDER BY v $op "
			  . "(SELECT v FROM queries WHERE id = 2) LIMIT 10) x"),
		'10 10', "$idx: filtered rows pass the filter");

	# LIMIT larger than the re-rank depth: several passes, no duplicates
	for my $case ([ 'c100 = 42', 150, 150 ], [ 'true', 700, 700 ], [ 'c1000 = 5', 50, 20 ])
	{
		my ($where, $limit, $expect) = @$case;
		is( $node->safe_psql('postgres',
				"$index; SET turboquant.rerank = 40; SELECT count(*) || ' ' || count(DISTINCT id) "
				  . "FROM (SELECT id FROM f WHERE $where ORDER BY v $op "
				  . "(SELECT v FROM queries WHERE id = 3) LIMIT $limit) x"),
			"$expect $expect", "$idx: WHERE $where LIMIT $limit with rerank = 40 gives $expect rows");
	}

	# no LIMIT: every (matching) row exactly once, re-ranked or not
	for my $rerank (200, 0)
	{
		is( $node->safe_psql('postgres',
				"$index; SET turboquant.rerank = $rerank; SELECT count(*) || ' ' || count(DISTINCT id) "
				  . "FROM (SELECT id FROM f ORDER BY v $op (SELECT v FROM queries WHERE id = 1)) x"),
			"$nrows $nrows", "$idx: no LIMIT, rerank = $rerank: every row once");
	}
	is( $node->safe_psql('postgres',
			"$index; SELECT count(*) || ' ' || count(DISTINCT id) FROM (SELECT id FROM f "
			  . "WHERE c100 = 42 ORDER BY v $op (SELECT v FROM queries WHERE id = 1)) x"),
		$node->safe_psql('postgres',
			"SELECT count(*) || ' ' || count(*) FROM f WHERE c100 = 42"),
		"$idx: filter without LIMIT: every matching row once");
}

for my $idx (sort values %ops)
{
	is($node->safe_psql('postgres', "SELECT tq_index_check('$idx')"),
		$nrows, "tq_index_check('$idx') passes");
}

$node->stop;
done_testing();
