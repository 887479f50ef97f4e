# Copyright (c) turboquant contributors
#
# Concurrency: pgbench clients insert, delete, query (ORDER BY ... LIMIT),
# VACUUM and run tq_index_check on the same tables at once, on a 64-d table
# (many groups per stripe: inserts compete for slots of one page) and a 768-d
# one (stripes of several pages: an insert locks them all while scans read
# them).  Queries during the load check their own answers against exact
# search in the same snapshot (check_answers).  Afterwards every index
# passes tq_index_check, returns what exact
# search returns when every candidate is re-ranked, and returns the same rows
# as the same index rebuilt by REINDEX at the default re-rank depth.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
jit = off
max_connections = 20
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION turboquant;
CREATE FUNCTION rv(dim int) RETURNS tqvector VOLATILE LANGUAGE sql
	AS 'SELECT array_agg(random() - 0.5)::tqvector FROM generate_series(1, dim)';
SELECT setseed(0.75);
CREATE TABLE queries (id int, dim int, v tqvector);
INSERT INTO queries SELECT i, d, rv(d) FROM generate_series(1, 5) i, unnest('{64,768}'::int[]) d;
CREATE TABLE t (id serial PRIMARY KEY, cat int, v tqvector(64));
INSERT INTO t (cat, v) SELECT i % 10, rv(64) FROM generate_series(1, 3000) i;
CREATE INDEX t_l2 ON t USING turboquant (v tqvector_l2_ops) WITH (bits = 3);
CREATE INDEX t_cos ON t USING turboquant (v tqvector_cosine_ops) WITH (bits = 2, lists = 10);
CREATE TABLE h (id serial PRIMARY KEY, v tqvector(768));
INSERT INTO h (v) SELECT rv(768) FROM generate_series(1, 300);
CREATE INDEX h_ip ON h USING turboquant (v tqvector_ip_ops) WITH (bits = 4, lists = 5);
-- Run during the load, in one REPEATABLE READ snapshot: for each index, the
-- index's answer with every candidate re-ranked must equal the exact
-- answer, and at the default re-rank depth hold at least 7 of the exact
-- top 10; an ERROR otherwise (pgbench then counts a failed transaction).
CREATE FUNCTION check_answers(q int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	tab text; op text; dim int; sql text;
	full_rerank int[]; approx int[]; exact int[]; hits int;
BEGIN
	FOR tab, op, dim IN VALUES ('t', '<->', 64), ('t', '<=>', 64), ('h', '<#>', 768) LOOP
		sql := format('SELECT array(SELECT id FROM %I ORDER BY v %s '
					  '(SELECT v FROM queries WHERE dim = %s AND id = %s) LIMIT 10)', tab, op, dim, q);
		PERFORM set_config('enable_seqscan', 'off', true);
		PERFORM set_config('enable_indexscan', 'on', true);
		PERFORM set_config('turboquant.rerank', '100000', true);
		PERFORM set_config('turboquant.probes', '100', true);
		EXECUTE sql INTO full_rerank;
		PERFORM set_config('turboquant.rerank', '200', true);
		EXECUTE sql INTO approx;
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		PERFORM set_config('enable_bitmapscan', 'off', true);
		EXECUTE sql INTO exact;
		IF full_rerank IS DISTINCT FROM exact THEN
			RAISE EXCEPTION 'during load: % % q%: index % exact %', tab, op, q, full_rerank, exact;
		END IF;
		SELECT count(*) INTO hits FROM unnest(approx) a WHERE a = ANY (exact);
		IF hits < 7 OR cardinality(approx) <> cardinality(exact) THEN
			RAISE EXCEPTION 'during load: % % q%: index % holds % of exact %', tab, op, q, approx, hits, exact;
		END IF;
	END LOOP;
END $$;
});

my @indexes = ([ 't', 't_l2', '<->', 64 ], [ 't', 't_cos', '<=>', 64 ], [ 'h', 'h_ip', '<#>', 768 ]);

$node->pgbench(
	"--no-vacuum --client=4 --jobs=2 --time=8 -h " . $node->host . " -p " . $node->port,
	0,
	[ qr{processed: [1-9]}, qr{003_answers\n - weight: [^\n]*\n - [1-9]\d* transactions} ],
	[qr{^$}],
	'inserts, deletes, queries checking their answers, VACUUM and checks at once',
	{
		'003_insert@6' => q{
INSERT INTO t (cat, v) SELECT (random() * 9)::int, rv(64) FROM generate_series(1, 3);
INSERT INTO h (v) SELECT rv(768);
},
		'003_query@6' => q{
\set q random(1, 5)
SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE dim = 64 AND id = :q) LIMIT 10;
SELECT id FROM t WHERE cat = 3 ORDER BY v <=> (SELECT v FROM queries WHERE dim = 64 AND id = :q) LIMIT 10;
SELECT id FROM h ORDER BY v <#> (SELECT v FROM queries WHERE dim = 768 AND id = :q) LIMIT 10;
},
		'003_delete@2' => q{
\set d random(1, 6000)
DELETE FROM t WHERE id BETWEEN :d AND :d + 5;
DELETE FROM h WHERE id = :d / 4;
},
		'003_vacuum@1' => q{
VACUUM t, h;
},
		'003_check@1' => q{
SELECT tq_index_check('t_l2'), tq_index_check('h_ip');
},
		'003_answers@2' => q{
\set q random(1, 5)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT check_answers(:q);
COMMIT;
},
	});

my $counts = $node->safe_psql('postgres',
	"SELECT (SELECT count(*) FROM t) || ' ' || (SELECT count(*) FROM h)");
note "rows afterwards (t h): $counts";

# queries at the default re-rank depth, then every candidate re-ranked
sub results
{
	my ($settings) = @_;
	my $sql = "$settings;\n";
	for my $ix (@indexes)
	{
		my ($tab, $idx, $op, $dim) = @$ix;
		for my $q (1 .. 5)
		{
			my $qv = "(SELECT v FROM queries WHERE dim = $dim AND id = $q)";
			$sql .= "SELECT '$idx q$q: ' || string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM $tab ORDER BY v $op $qv LIMIT 10) x;\n";
			$sql .= "SELECT '$idx q$q cat: ' || string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM $tab WHERE id % 10 = $q ORDER BY v $op $qv LIMIT 10) x;\n";
		}
		$sql .= "SELECT '$idx all: ' || (count(*) = count(DISTINCT id) AND count(*) = "
		  . "(SELECT count(*) FROM $tab)) FROM (SELECT id FROM $tab ORDER BY v $op "
		  . "(SELECT v FROM queries WHERE dim = $dim AND id = 1)) x;\n";
	}
	return $node->safe_psql('postgres', $sql);
}

for my $ix (@indexes)
{
	my $idx = $ix->[1];
	my ($ret, $out, $err) =
	  $node->psql('postgres', "SELECT tq_index_check('$idx', verify_codes => true)");
	is($ret, 0, "tq_index_check('$idx', verify_codes) passes after the run") or diag $err;
}

# dead entries take places among the re-ranked candidates: remove them first
$node->safe_psql('postgres', 'VACUUM t, h');
my $index = 'SET enable_seqscan = off';
my $approx = results($index);
my $exact_by_index = results("$index; SET turboquant.rerank = 100000; SET turboquant.probes = 100");
my $exact = results('SET enable_indexscan = off; SET enable_bitmapscan = off');
my $explain = "EXPLAIN (COSTS OFF) SELECT id FROM t WHERE id % 10 = 1 ORDER BY v <-> "
  . "(SELECT v FROM queries WHERE dim = 64 AND id = 1) LIMIT 10";
like($node->safe_psql('postgres', "$index; $explain"),
	qr/Index Scan using t_l2/, 'filtered queries use the index');
unlike($node->safe_psql('postgres', "SET enable_indexscan = off; $explain"),
	qr/Index Scan using t_/, 'exact search does not');
unlike($approx, qr/all: f/, 'every row comes back once without LIMIT');
is($exact_by_index, $exact, 'every candidate re-ranked equals exact search');

$node->safe_psql('postgres', 'REINDEX TABLE t; REINDEX TABLE h;');
is(results($index), $approx, 'results equal those of the REINDEXed indexes');
for my $ix (@indexes)
{
	my $idx = $ix->[1];
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT tq_index_check('$idx')");
	is($ret, 0, "tq_index_check('$idx') passes after REINDEX") or diag $err;
}

$node->stop;
done_testing();
