# Copyright (c) turboquant contributors
#
# Recent-buffer hints (tqutils.cpp): a scan reads its pages through the shared
# buffer each page was last seen in by this backend, after checking that the
# buffer still holds that very block.  With 128 shared buffers and an index of
# some 500 pages, nearly every hint is stale by the next query, most of them
# naming a buffer that now holds another page of the same index — the case a
# missing check would turn into wrong codes and wrong answers.  Each query's
# rows (re-rank 0: the codes' own order) in a long-lived backend, with the
# pool churned between queries and without, must equal what a fresh backend
# (no hints at all) returns; and a backend whose hints outlive a REINDEX
# (new relfilenode) and a TRUNCATE + reload must answer for the new contents.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 1MB\njit = off");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION turboquant;
SELECT setseed(0.25);
CREATE TABLE t (id int PRIMARY KEY, v tqvector(192));
INSERT INTO t SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 192) WHERE i > 0)::tqvector
	FROM generate_series(1, 30000) i;
CREATE INDEX t_idx ON t USING turboquant (v tqvector_l2_ops) WITH (bits = 4, lists = 0);
CREATE TABLE churn AS SELECT i, repeat('x', 500) AS pad FROM generate_series(1, 3000) i;
CREATE TABLE q (qid int, v tqvector);
INSERT INTO q SELECT j, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 192) WHERE j > 0)::tqvector
	FROM generate_series(1, 5) j;
ANALYZE;
});

my $pages = $node->safe_psql('postgres', "SELECT pg_relation_size('t_idx') / 8192");
cmp_ok($pages, '>', 300, "index has $pages pages, far more than the 128 shared buffers");

my $setup = 'SET enable_seqscan = off; SET turboquant.rerank = 0;';
# one line per query: its top-10 ids in the index's order
my $answers = join('; ', map {
	"SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM q WHERE qid = $_) LIMIT 10) s"
} 1 .. 5);
my $churn = 'SELECT count(*) FROM churn WHERE pad <> \'\';';

my $fresh = $node->safe_psql('postgres', "$setup $answers;");
is(scalar(split /\n/, $fresh), 5, 'five answers from a backend without hints');
my $plan = $node->safe_psql('postgres',
	"$setup EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> (SELECT v FROM q WHERE qid = 1) LIMIT 10");
like($plan, qr/Index Scan using t_idx/, 'the answers come from the index');

# one backend: warm repeats (hints hold as long as the buffers do), then
# repeats with the pool churned in between (hints stale)
my $script = "$setup $answers; $answers; $churn $answers; $churn $answers; $churn $answers;";
my @out = grep { !/^\d+$/ || /,/ } split /\n/, $node->safe_psql('postgres', $script);
my @want = split /\n/, $fresh;
is(scalar(@out), 25, 'every repeat answered');
for my $rep (0 .. 4)
{
	is_deeply([ @out[ $rep * 5 .. $rep * 5 + 4 ] ], \@want,
		'repeat ' . ($rep + 1) . ($rep < 2 ? ' (warm)' : ' (after churn)') . ' equals a fresh backend');
}

# hints that outlive the relation's files: REINDEX, then TRUNCATE and reload
# with other rows, all inside one backend that scanned before
my $after = $node->safe_psql(
	'postgres', qq{
$setup $answers;
REINDEX INDEX t_idx;
$answers;
TRUNCATE t;
INSERT INTO t SELECT i + 1000000, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 192) WHERE i > 0)::tqvector
	FROM generate_series(1, 30000) i;
$answers;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM q WHERE qid = 1)) s WHERE id < 1000000;
});
my @a = split /\n/, $after;
is_deeply([ @a[ 0 .. 4 ] ], \@want, 'before REINDEX');
is_deeply([ @a[ 5 .. 9 ] ], \@want, 'after REINDEX (new relfilenode): the same answers');
my $fresh2 = $node->safe_psql('postgres', "$setup $answers;");
is_deeply([ @a[ 10 .. 14 ] ], [ split /\n/, $fresh2 ], 'after TRUNCATE and reload: what a fresh backend answers');
is($a[15], '0', 'no row of the old contents comes back');
unlike($a[10], qr/(^|,)\d{1,6}(,|$)/, 'the new answers hold only new ids');

# the index stays consistent with its table
is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx', true)"), '30000', 'index check passes');

# Re-ranking reads table rows through hints of its own (TqFetchHeapRow): a
# table of some 2,000 pages in 128 buffers, rows updated in place (HOT chains:
# the index's TID names the chain's root) and rows deleted.  Answers with
# re-ranking on (ids, the updated column and the exact distance) in a
# long-lived backend whose pool is churned between queries must equal a
# fresh backend's, and no deleted row may come back.  (The executor fetches
# each returned row again under the snapshot, so visibility is checked twice;
# what only this scan decides is the distance order of the rows it re-ranks.)
$node->safe_psql(
	'postgres', q{
CREATE TABLE h (id int, note int, v tqvector(192)) WITH (fillfactor = 40);
INSERT INTO h SELECT i, 0, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 192) WHERE i > 0)::tqvector
	FROM generate_series(1, 6000) i;
CREATE INDEX h_idx ON h USING turboquant (v tqvector_l2_ops) WITH (bits = 4, lists = 0);
UPDATE h SET note = id WHERE id % 3 = 0;
DELETE FROM h WHERE id % 5 = 0;
});
cmp_ok($node->safe_psql('postgres', "SELECT pg_relation_size('h') / 8192"), '>', 1000,
	'the table has far more pages than the 128 shared buffers');
cmp_ok($node->safe_psql('postgres', "SELECT pg_stat_get_tuples_hot_updated('h'::regclass)"), '>', 100,
	'rows were updated in place (HOT)');
my $rsetup = 'SET enable_seqscan = off; SET turboquant.rerank = 40;';
my $ranswers = join('; ', map {
	"SELECT string_agg(id || ':' || note || ':' || round(d::numeric, 6), ',') FROM "
	  . "(SELECT id, note, v <-> (SELECT v FROM q WHERE qid = $_) AS d FROM h "
	  . "ORDER BY v <-> (SELECT v FROM q WHERE qid = $_) LIMIT 10) s"
} 1 .. 5);
my @rwant = split /\n/, $node->safe_psql('postgres', "$rsetup $ranswers;");
is(scalar(@rwant), 5, 'five re-ranked answers from a fresh backend');
unlike(join(',', @rwant), qr/(^|,)(\d*[05]):/, 'no deleted row (id divisible by 5) among them');
my $ok_notes = 1;
for my $row (map { split /,/ } @rwant)
{
	my ($id, $note) = split /:/, $row;
	$ok_notes = 0 unless $note == ($id % 3 == 0 ? $id : 0);
}
ok($ok_notes, 'every row carries its current version (updated rows their new note)');
my @rout = grep { /:/ } split /\n/,
  $node->safe_psql('postgres', "$rsetup $ranswers; $churn $ranswers; $churn $ranswers;");
is(scalar(@rout), 15, 'every re-ranked repeat answered');
for my $rep (0 .. 2)
{
	is_deeply([ @rout[ $rep * 5 .. $rep * 5 + 4 ] ], \@rwant,
		're-ranked repeat ' . ($rep + 1) . ($rep < 1 ? ' (warm)' : ' (after churn)') . ' equals a fresh backend');
}

$node->stop;
done_testing();
