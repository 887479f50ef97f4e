# Copyright (c) turboquant contributors
#
# Citus: a distributed table with a turboquant index on every shard (created
# once on the coordinator, propagated by Citus), its top 10 equal to a single
# node's.  A coordinator and two workers, set up here.  Citus is an optional
# peer, not test data: without it installed (it is not in Debian's
# repositories) the test is skipped with "skipped: Citus not installed", under
# CI too.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TqShardSetup qw(new_node vec_sql docs_sql);

my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
plan skip_all => 'Citus not installed'
  unless -f "$sharedir/extension/citus.control";

# Citus's nodes address each other by host and port: the nodes listen on
# 127.0.0.1 (set here, after the module chose unix sockets at load time)
$PostgreSQL::Test::Cluster::use_tcp = 1;
$PostgreSQL::Test::Cluster::test_pghost = '127.0.0.1';
$ENV{PGHOST} = '127.0.0.1';

my $dim = 32;
my $nrows = 6000;
my $k = 10;

my $citus = "shared_preload_libraries = 'citus'\nmax_prepared_transactions = 10\ncitus.shard_count = 4";

my $coord = new_node('coordinator', $citus);
my @workers = (new_node('worker1', $citus), new_node('worker2', $citus));
my $single = new_node('single');

my $vec = sub { vec_sql($dim, $_[0]) };
my ($rows, $table, $index) = docs_sql($dim, $nrows);

$_->safe_psql('postgres', 'CREATE EXTENSION citus; CREATE EXTENSION turboquant') for @workers;
my $add = join '; ', map { "SELECT citus_add_node('" . $_->host . "', " . $_->port . ")" } @workers;
$coord->safe_psql(
	'postgres', qq{
CREATE EXTENSION citus;
CREATE EXTENSION turboquant;
SELECT citus_set_coordinator_host('@{[$coord->host]}', @{[$coord->port]});
$add;
$table;
SELECT create_distributed_table('docs', 'id');
$index;
INSERT INTO docs $rows;
ANALYZE docs;
});
$single->safe_psql('postgres', "CREATE EXTENSION turboquant; $table; INSERT INTO docs $rows; $index; ANALYZE docs");

# an index on every shard placement
my $indexed = 0;
$indexed += $_->safe_psql('postgres',
	"SET citus.override_table_visibility = off;  -- Citus hides shards from the catalogs otherwise
	 SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	 JOIN pg_am a ON a.oid = c.relam
	 WHERE a.amname = 'turboquant' AND c.relname ~ '^docs_v_[0-9]+\$'  -- shards' (not the metadata's docs_v)")
  for @workers;
is($indexed, 4, 'a turboquant index on each of the 4 shards');

sub ids
{
	my ($node, $q) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY v <=> '$q' LIMIT $k) s");
}

my @queries = map { $single->safe_psql('postgres', 'SELECT ' . $vec->(1000000 + $_)) } (1 .. 20);
my $plan = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM docs ORDER BY v <=> '$queries[0]' LIMIT $k");
note $plan;
like($plan, qr/Custom Scan \(Citus Adaptive\)/, 'a distributed plan');
like($plan, qr/Index Scan using docs_v_\d+ on/, 'the shards use their turboquant index');
like($plan, qr/Query: .*ORDER BY .*LIMIT/i, 'each shard task runs ORDER BY ... LIMIT');

my $same = 0;
for my $q (@queries)
{
	$same++ if ids($coord, $q) eq ids($single, $q);
}
is($same, scalar(@queries), 'top 10 equal the single node\'s for every query');

done_testing();
