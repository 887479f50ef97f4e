# Copyright (c) turboquant contributors
#
# TURBOQUANT_SIMD in the server's environment takes effect: registering the
# turboquant.simd GUC assigns its boot value, which used to reset the kernel
# set to auto; the boot value is now the set the environment names.  A set
# this CPU cannot run (or a bogus name) falls back to auto.  Scalar is the one
# set every CPU runs, so it is the one the test can force.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('simd');
$node->init;
$node->append_conf('postgresql.conf', 'jit = off');

# A query that loads the library, then the setting as the backend sees it.
my $show = q{SELECT '[1,2]'::tqvector IS NOT NULL; SHOW turboquant.simd;};

$ENV{TURBOQUANT_SIMD} = 'scalar';
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION turboquant');
like($node->safe_psql('postgres', $show), qr/^t\nscalar$/, 'TURBOQUANT_SIMD=scalar is the default');
# ... and the index scans with it: same answers as auto, with rerank off.
$node->safe_psql('postgres', q{
	SELECT setseed(0.2);
	CREATE TABLE t (id int, v tqvector(24));
	INSERT INTO t SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 24) d
							 WHERE i > 0)::tqvector FROM generate_series(1, 1000) i;
	CREATE INDEX ON t USING turboquant (v) WITH (bits = 4);
});
my $q = q{SET enable_seqscan = off; SET turboquant.rerank = 0;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 7) LIMIT 15) x;};
my $env_order = $node->safe_psql('postgres', $q);
is($node->safe_psql('postgres', "SET turboquant.simd = 'auto'; $q"), $env_order,
	'the best set and the environment\'s scalar set give the same order');
$node->stop;

$ENV{TURBOQUANT_SIMD} = 'no_such_set';
$node->start;
like($node->safe_psql('postgres', $show), qr/^t\nauto$/, 'an unknown TURBOQUANT_SIMD means auto');
$node->stop;

delete $ENV{TURBOQUANT_SIMD};
$node->start;
like($node->safe_psql('postgres', $show), qr/^t\nauto$/, 'without TURBOQUANT_SIMD: auto');
my $avail = $node->safe_psql('postgres', q{SELECT '[1]'::tqvector IS NOT NULL; SHOW turboquant.simd_available;});
like($avail, qr/^t\n([a-z0-9]+ )*scalar$/, "turboquant.simd_available lists the CPU's sets: $avail");
$node->stop;

done_testing();
