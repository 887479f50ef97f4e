# Copyright (c) turboquant contributors
#
# Sharding with postgres_fdw: a coordinator whose table is hash-partitioned
# into foreign tables on two shard clusters (each with its own turboquant
# index), and a single node holding every row as the reference.
#  - the plans: the parent query (Merge Append of foreign scans, ORDER BY
#    pushed, no LIMIT on the shards), and the recommended shape (UNION ALL of
#    per-shard ORDER BY ... LIMIT k in a MATERIALIZED CTE: LIMIT in each
#    shard's remote SQL, an Append of Async Foreign Scans)
#  - rows shipped per query, counted by pg_stat_statements on the shards
#  - top 10 of both shapes equal the single node's for 20 queries, and exact
#    search's; the same for the extension's tq_search (its tq_search_query
#    text is the recommended shape)
#  - filters on a non-key column return LIMIT rows, the single node's
#  - inserts routed through the coordinator are found by the next query
#  - a shard stopped mid-workload: the coordinator's query fails with a clear
#    error while it is down and works again after it restarts (same session)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TqShardSetup qw(new_node vec_sql docs_sql);

my $dim = 32;
my $nrows = 6000;
my $k = 10;

# every node re-ranks 100 candidates (new_node): the single node (6000 rows) and each
# shard (about 3000) then find the exact top 10 on this data, so their answers
# can be compared row for row
my $preload = "shared_preload_libraries = 'pg_stat_statements'";

my $coord = new_node('coordinator');
my @shards = (new_node('shard1', $preload), new_node('shard2', $preload));
my $single = new_node('single');

# pseudo-random but deterministic rows, the same on every node
my $vec = sub { vec_sql($dim, $_[0]) };
my ($rows, $table, $index) = docs_sql($dim, $nrows);

for my $shard (@shards)
{
	$shard->safe_psql('postgres',
		"CREATE EXTENSION turboquant; CREATE EXTENSION pg_stat_statements; $table; $index");
}
$single->safe_psql('postgres', "CREATE EXTENSION turboquant; $table; INSERT INTO docs $rows; $index; ANALYZE docs");

my $servers = '';
for my $n (0, 1)
{
	my ($host, $port) = ($shards[$n]->host, $shards[$n]->port);
	my $s = $n + 1;
	$servers .= qq{
CREATE SERVER shard$s FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', extensions 'turboquant',
			 async_capable 'true', fdw_tuple_cost '1', batch_size '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$s;
CREATE FOREIGN TABLE docs_$s PARTITION OF docs FOR VALUES WITH (MODULUS 2, REMAINDER $n)
	SERVER shard$s OPTIONS (table_name 'docs');
};
}
$coord->safe_psql(
	'postgres', qq{
CREATE EXTENSION turboquant;
CREATE EXTENSION postgres_fdw;
CREATE TABLE docs (id int, tenant int, v tqvector($dim)) PARTITION BY HASH (id);
$servers
INSERT INTO docs $rows;
-- row counts and filter selectivities for the coordinator's planner: without
-- them a filtered query is costed blind and sorts on the coordinator
ANALYZE docs_1, docs_2;
});
$_->safe_psql('postgres', 'ANALYZE docs') for @shards;

is( $shards[0]->safe_psql('postgres', 'SELECT count(*) FROM docs') +
	  $shards[1]->safe_psql('postgres', 'SELECT count(*) FROM docs'),
	$nrows, 'the coordinator routed every row to a shard');
ok($shards[0]->safe_psql('postgres', 'SELECT count(*) FROM docs') > $nrows / 3
	  && $shards[1]->safe_psql('postgres', 'SELECT count(*) FROM docs') > $nrows / 3,
	'both shards hold rows');

# the query shapes; $q a tqvector literal, $where a filter or ''
sub naive
{
	my ($q, $where) = @_;
	return "SELECT id FROM docs $where ORDER BY v <=> '$q' LIMIT $k";
}

sub recommended
{
	my ($q, $where) = @_;
	my @branches = map {
		"(SELECT id, v <=> '$q' AS distance FROM docs_$_ $where ORDER BY v <=> '$q' LIMIT $k)"
	} (1, 2);
	return "WITH hits AS MATERIALIZED (" . join(' UNION ALL ', @branches) . ")
		SELECT id FROM hits ORDER BY distance LIMIT $k";
}

sub ids
{
	my ($node, $query) = @_;
	return $node->safe_psql('postgres', "SELECT string_agg(id::text, ',') FROM ($query) s");
}

my @queries = map { $single->safe_psql('postgres', 'SELECT ' . $vec->(1000000 + $_)) } (1 .. 20);
my $q1 = $queries[0];

# ---- plans ----
my $plan = $coord->safe_psql('postgres', 'EXPLAIN (VERBOSE, COSTS OFF) ' . recommended($q1, ''));
note "recommended shape:\n$plan";
like($plan, qr/->  Append\n.*->  Async Foreign Scan on public\.docs_1.*->  Async Foreign Scan on public\.docs_2/s,
	'recommended shape: an Append of Async Foreign Scans (the shards run concurrently)');
my @remote = $plan =~ /Remote SQL: (.*)/g;
is(scalar(@remote), 2, 'one remote query per shard');
like($_, qr/ORDER BY \(v OPERATOR\(public\.<=>\) .*\) ASC NULLS LAST LIMIT $k\b/,
	'each shard runs ORDER BY distance LIMIT k') for @remote;

$plan = $coord->safe_psql('postgres', 'EXPLAIN (VERBOSE, COSTS OFF) ' . naive($q1, ''));
note "parent query:\n$plan";
like($plan, qr/Merge Append.*Foreign Scan on public\.docs_1.*Foreign Scan on public\.docs_2/s,
	'parent query: a Merge Append of foreign scans');
like($plan, qr/Remote SQL: SELECT id, v FROM public\.docs ORDER BY \(v OPERATOR\(public\.<=>\)/,
	'parent query: ORDER BY pushed to the shards (the extension is listed)');
unlike($plan, qr/LIMIT/, 'parent query: PostgreSQL 15 sends no LIMIT to the shards');

# each shard answers from its own index
like($shards[0]->safe_psql('postgres', 'EXPLAIN (COSTS OFF) ' . naive($q1, '')),
	qr/Index Scan using docs_v/, 'a shard uses its turboquant index');
like($single->safe_psql('postgres', 'EXPLAIN (COSTS OFF) ' . naive($q1, '')),
	qr/Index Scan using docs_v/, 'the single node uses its turboquant index');

# ---- rows shipped per query (rows the shards' FETCHes returned) ----
sub fetched
{
	my ($query) = @_;
	$_->safe_psql('postgres', 'SELECT pg_stat_statements_reset()') for @shards;
	$coord->safe_psql('postgres', $query);
	my $n = 0;
	$n += $_->safe_psql('postgres',
		"SELECT coalesce(sum(rows), 0) FROM pg_stat_statements WHERE query LIKE 'FETCH%'")
	  for @shards;
	return $n;
}
my $naive_rows = fetched(naive($q1, ''));
my $rec_rows = fetched(recommended($q1, ''));
note "rows shipped per query: parent query $naive_rows, recommended shape $rec_rows";
is($rec_rows, 2 * $k, 'recommended shape: k rows per shard');
ok($naive_rows > $rec_rows, "parent query ships more ($naive_rows rows: a fetch_size batch per shard)");

# ---- the answers: single node and exact search ----
my ($same_naive, $same_rec, $hits, $total) = (0, 0, 0, 0);
for my $q (@queries)
{
	my $want = ids($single, naive($q, ''));
	$same_naive++ if ids($coord, naive($q, '')) eq $want;
	my $got = ids($coord, recommended($q, ''));
	$same_rec++ if $got eq $want;
	my %e = map { $_ => 1 } split /,/, $single->safe_psql('postgres',
		"SET enable_indexscan = off; SELECT string_agg(id::text, ',') FROM "
		  . "(SELECT id FROM docs ORDER BY v <=> '$q' LIMIT $k) s");
	$hits += grep { $e{$_} } split /,/, $got;
	$total += $k;
}
is($same_naive, scalar(@queries), 'parent query: top 10 equal the single node\'s for every query');
is($same_rec, scalar(@queries), 'recommended shape: top 10 equal the single node\'s for every query');
ok($hits / $total >= 0.98, "recommended shape: recall\@10 against exact search " . ($hits / $total));

# ---- the extension's helper: tq_search_query's text, tq_search's rows ----
$plan = $coord->safe_psql('postgres',
	"SELECT format('PREPARE s(tqvector) AS %s', tq_search_query('docs', 'v', $k)) \\gexec\n"
	  . "EXPLAIN (VERBOSE, COSTS OFF) EXECUTE s('$q1')");
note "tq_search_query('docs', 'v', $k):\n$plan";
like($plan, qr/->  Append\n.*->  Async Foreign Scan on public\.docs_1.*->  Async Foreign Scan on public\.docs_2/s,
	'tq_search_query: an Append of Async Foreign Scans');
is(scalar(() = $plan =~ /Remote SQL: SELECT id, tenant, v FROM public\.docs ORDER BY .* LIMIT $k\b/g), 2,
	'tq_search_query: each shard runs ORDER BY distance LIMIT k');
my $same_helper = 0;
for my $q (@queries)
{
	$same_helper++
	  if ids($coord, "SELECT id FROM tq_search(NULL::docs, 'v', '$q', $k)") eq ids($single, naive($q, ''));
}
is($same_helper, scalar(@queries), 'tq_search: top 10 equal the single node\'s for every query');
is(fetched("SELECT id FROM tq_search(NULL::docs, 'v', '$q1', $k)"), 2 * $k, 'tq_search: k rows per shard');

# ---- filters on a non-key column (tenant: 2% of the rows) ----
my $where = 'WHERE tenant = 7';
$plan = $coord->safe_psql('postgres', 'EXPLAIN (VERBOSE, COSTS OFF) ' . recommended($q1, $where));
like($plan, qr/WHERE \(\(tenant = 7\)\) ORDER BY .* LIMIT $k/, 'filter and LIMIT both sent to the shards');
my ($filtered_ok, $filtered_rows) = (0, 0);
for my $q (@queries[0 .. 4])
{
	my $want = ids($single, naive($q, $where));
	my $got = ids($coord, recommended($q, $where));
	my $got_naive = ids($coord, naive($q, $where));
	$filtered_rows++ if scalar(split /,/, $got) == $k && scalar(split /,/, $got_naive) == $k;
	$filtered_ok++ if $got eq $want && $got_naive eq $want;
}
is($filtered_rows, 5, 'filtered queries return LIMIT rows (both shapes)');
is($filtered_ok, 5, 'filtered queries equal the single node\'s');

# ---- a session on the coordinator: inserts, then a shard restart ----
my $session = $coord->background_psql('postgres', on_error_stop => 0);
my $newq = $vec->(2000000);
$session->query_safe("INSERT INTO docs VALUES (100001, 7, $newq), (100002, 7, $newq)");
my $qnew = $single->safe_psql('postgres', "SELECT $newq");
is($session->query_safe("SELECT string_agg(id::text, ',' ORDER BY id) FROM "
		  . "(SELECT id FROM (" . recommended($qnew, '') . ") r LIMIT 2) s"),
	'100001,100002', 'rows inserted through the coordinator are found by the next query');
is($shards[0]->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE id > 100000')
	  + $shards[1]->safe_psql('postgres', 'SELECT count(*) FROM docs WHERE id > 100000'),
	'2', 'the inserted rows live on the shards');

my $before = $session->query_safe(recommended($q1, ''));
$shards[1]->stop('fast');
my ($out, $failed) = $session->query(recommended($q1, ''));
ok($failed, 'query fails while a shard is down');
like($session->{stderr}, qr/could not connect to server "shard2"|server closed the connection|connection to server .* failed/,
	'the error names the lost connection');
note "error while shard2 is down: $session->{stderr}";
$session->{stderr} = '';
$shards[1]->start;
my ($after, $failed2) = $session->query(recommended($q1, ''));
if ($failed2)
{
	# the first query after the restart may still see the old connection
	# break; postgres_fdw opens a new one for the next
	note "first query after restart: $session->{stderr}";
	$session->{stderr} = '';
	($after, $failed2) = $session->query(recommended($q1, ''));
}
ok(!$failed2, 'query works again after the shard restarts') or diag $session->{stderr};
is($after, $before, 'same answer as before the restart');
$session->quit;

done_testing();
