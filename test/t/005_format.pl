# Copyright (c) turboquant contributors
#
# On-disk format: an index whose metapage carries another format version
# (as one built by an older release would) is refused with a clear error and
# a REINDEX hint, never read; REINDEX rebuilds it in the current format.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', 'jit = off');
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION turboquant;
CREATE TABLE t (id int, v tqvector(8));
INSERT INTO t SELECT i, array_fill(i::real, ARRAY[8])::tqvector FROM generate_series(1, 100) i;
CREATE INDEX t_idx ON t USING turboquant (v);
CHECKPOINT;
});
my $format = $node->safe_psql('postgres', "SELECT format FROM tq_index_stats('t_idx')");
my $path = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
$node->stop;

# metapage contents start after the 24-byte page header: magic, then version
open(my $fh, '+<', $path) or die "open $path: $!";
binmode $fh;
seek($fh, 24, 0);
read($fh, my $magic, 4);
is(unpack('L<', $magic), 0x54515649, 'metapage magic where expected');
print $fh pack('L<', 1);
close $fh;
$node->start;

my ($ret, $out, $err) = $node->psql('postgres',
	'SET enable_seqscan = off; SELECT id FROM t ORDER BY v <-> array_fill(3::real, ARRAY[8])::tqvector LIMIT 1');
isnt($ret, 0, 'a format 1 index is refused');
like($err, qr/on-disk format 1, this turboquant reads format $format/, 'the error names both formats');
like($err, qr/HINT:\s+Rebuild it with REINDEX INDEX t_idx/, 'the hint says REINDEX');
($ret, $out, $err) = $node->psql('postgres', 'INSERT INTO t VALUES (0, array_fill(0::real, ARRAY[8]))');
isnt($ret, 0, 'inserts are refused too');

$node->safe_psql('postgres', 'REINDEX INDEX t_idx');
is( $node->safe_psql('postgres',
		'SET enable_seqscan = off; SELECT id FROM t ORDER BY v <-> array_fill(3::real, ARRAY[8])::tqvector LIMIT 1'),
	'3', 'after REINDEX the index answers');
is($node->safe_psql('postgres', "SELECT format FROM tq_index_stats('t_idx')"), $format,
	'REINDEX writes the current format');
$node->stop;
done_testing();
