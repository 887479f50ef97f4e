# Copyright (c) turboquant contributors
#
# What the sharding tests (010_sharding.pl, 011_citus.pl) share: their nodes
# and the rows every node gets.  Not a test itself (run_tap.sh runs t/*.pl and
# puts t/ on the include path).
package TqShardSetup;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT_OK = qw(new_node vec_sql docs_sql);

# A started node (jit off, rerank 100) with `$conf` appended to postgresql.conf.
sub new_node
{
	my ($name, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "jit = off\nturboquant.rerank = 100");
	$node->append_conf('postgresql.conf', $conf) if $conf;
	$node->start;
	return $node;
}

# A pseudo-random but deterministic $dim-d vector for row (or query) $i, as SQL.
sub vec_sql
{
	my ($dim, $i) = @_;
	return "(SELECT array_agg(((hashint4($i * 1000 + d) & 65535) / 65535.0 - 0.5)::real ORDER BY d)"
	  . " FROM generate_series(1, $dim) d)::tqvector";
}

# The docs table: its rows (a SELECT), its CREATE TABLE and its CREATE INDEX.
sub docs_sql
{
	my ($dim, $nrows) = @_;
	return (
		"SELECT i, i % 50, " . vec_sql($dim, 'i') . " FROM generate_series(1, $nrows) i",
		"CREATE TABLE docs (id int PRIMARY KEY, tenant int, v tqvector($dim))",
		'CREATE INDEX docs_v ON docs USING turboquant (v tqvector_cosine_ops)');
}

1;
