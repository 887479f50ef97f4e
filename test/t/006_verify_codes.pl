# Copyright (c) turboquant contributors
#
# tq_index_check(..., verify_codes => true) finds damaged codes.  Bytes in the
# code area of the first stripe page are changed with the server stopped (as a
# torn or misdirected write would): the pages stay well formed, every slot
# keeps its heap TID, norm and factor, so the plain check passes, but the
# codes no longer match the rows' vectors.  verify_codes encodes each visible
# row again and reports the first mismatch; REINDEX repairs it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('codes');
$node->init;
$node->append_conf('postgresql.conf', 'jit = off');
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION turboquant;
	SELECT setseed(0.1);
	CREATE TABLE t (id int, v tqvector(32));
	INSERT INTO t SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 32) d
							 WHERE i > 0)::tqvector
		FROM generate_series(1, 2000) i;
	CREATE INDEX t_idx ON t USING turboquant (v) WITH (bits = 4);
});
is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx', verify_codes => true)"),
	'2000', 'a fresh index passes verify_codes');

my $file = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
$node->stop;

# The metapage names the block of stripe 0 (first_stripe, at offset 76 of its
# contents, which start after the 24-byte page header; a flat index keeps its
# one-entry list directory before it).  2000 rows fill that stripe (a stripe
# holds at most 32 groups of 32).  Its codes end at pd_lower (page header
# offset 12): flip the 256 bytes before it, the codes of used slots.
open(my $fh, '+<:raw', $file) or die "open $file: $!";
seek($fh, 24 + 76, 0);
read($fh, my $first_raw, 4) == 4 or die "short read";
my $first_stripe = unpack('V', $first_raw);
ok($first_stripe >= 2 && $first_stripe < 10, "stripe 0 at block $first_stripe");
my $block = 8192 * $first_stripe;
seek($fh, $block + 12, 0);
read($fh, my $lower_raw, 2) == 2 or die "short read";
my $lower = unpack('v', $lower_raw);
ok($lower > 1024 && $lower <= 8192 - 8, "pd_lower $lower lies in the page");
seek($fh, $block + $lower - 256, 0);
read($fh, my $codes, 256) == 256 or die "short read";
seek($fh, $block + $lower - 256, 0);
print $fh ($codes ^ ("\x55" x 256));
close $fh;

$node->start;
my ($ret, $out, $err) = $node->psql('postgres', "SELECT tq_index_check('t_idx')");
is($ret, 0, 'the plain check cannot see damaged codes');
is($out, '2000', 'the plain check counts every entry');
($ret, $out, $err) =
  $node->psql('postgres', "SELECT tq_index_check('t_idx', verify_codes => true)");
isnt($ret, 0, 'verify_codes fails');
like($err, qr/index "t_idx" is corrupted: stored codes differ from the row's vector encoded again \(heap tid \(\d+,\d+\)\)/,
	'verify_codes names the damaged row');

$node->safe_psql('postgres', 'REINDEX INDEX t_idx');
is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx', verify_codes => true)"),
	'2000', 'REINDEX repairs it');

$node->stop;
done_testing();
