# Copyright (c) turboquant contributors
#
# The on-disk format version.  An index whose metapage carries another
# format version (one written by an older or newer turboquant) is refused by
# every path that reads it — scan, insert, VACUUM, tq_index_check — with a
# clear error naming both versions and a REINDEX hint, and REINDEX makes it
# usable again.  The version is patched in the relation file with the server
# stopped (the metapage's version field is at a pinned offset: static_assert
# in src/tqindex.h).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('format');
$node->init;
$node->append_conf('postgresql.conf', 'jit = off');
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION turboquant;
	CREATE TABLE t (id int, v tqvector(8));
	INSERT INTO t SELECT i, (SELECT array_agg(sin(i * d)) FROM generate_series(1, 8) d)::tqvector
		FROM generate_series(1, 500) i;
	CREATE INDEX t_idx ON t USING turboquant (v);
});
is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx')"), '500', 'index built');

my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
my $file = $node->data_dir . '/' . $path;

# The metapage contents start after the MAXALIGNed page header (24 bytes):
# magic at +0, version at +4 (little-endian uint32 on the machines we run on).
sub read_version
{
	open(my $fh, '<:raw', $file) or die "open $file: $!";
	seek($fh, 24, 0);
	read($fh, my $buf, 8) == 8 or die "short read";
	close $fh;
	my ($magic, $version) = unpack('VV', $buf);
	return ($magic, $version);
}

sub write_version
{
	my ($version) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, 28, 0);
	print $fh pack('V', $version);
	close $fh;
}

$node->stop;
my ($magic, $version) = read_version();
is(sprintf('%08x', $magic), '54515649', 'metapage magic at its pinned offset');
ok($version >= 2, "current format version is $version");

for my $other (1, $version + 1)
{
	write_version($other);
	$node->start;
	my @paths = (
		[ 'scan', q{SET enable_seqscan = off; SELECT id FROM t ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 1} ],
		[ 'insert', q{INSERT INTO t VALUES (9999, '[1,2,3,4,5,6,7,8]')} ],
		[ 'check', q{SELECT tq_index_check('t_idx')} ],
		[ 'vacuum', q{DELETE FROM t WHERE id = 1; VACUUM t} ]);
	for my $p (@paths)
	{
		my ($name, $sql) = @$p;
		my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 1,
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
		isnt($ret, 0, "format $other: $name fails");
		like($err,
			qr/index "t_idx" has on-disk format version $other, but this turboquant build reads only version $version/,
			"format $other: $name names both versions");
		like($err, qr/HINT:  Rebuild it in the current format with REINDEX INDEX t_idx\./,
			"format $other: $name hints at REINDEX");
	}
	$node->safe_psql('postgres', 'REINDEX INDEX t_idx');
	my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx')"), $n,
		"format $other: REINDEX makes the index usable again");
	$node->stop;
	# REINDEX wrote a new relation file
	$path = do {
		$node->start;
		my $p = $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
		$node->stop;
		$p;
	};
	$file = $node->data_dir . '/' . $path;
	is((read_version())[1], $version, "format $other: REINDEX wrote version $version");
}

done_testing();
