# Copyright (c) turboquant contributors
#
# Parallel build of a partitioned index (max_parallel_maintenance_workers):
# workers and the leader share the k-means rounds, then assign and encode
# their share of the table into a
# shared sort keyed by (list, heap TID), so the index must come out the same,
# page for page (apart from the LSN and checksum in each page header), as a
# serial build; and it must pass tq_index_check and answer queries.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('parallel');
$node->init;
$node->append_conf('postgresql.conf', qq{
jit = off
log_min_messages = debug1
max_worker_processes = 8
max_parallel_workers = 8
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION turboquant;
SELECT setseed(0.3);
CREATE TABLE t (id int, v tqvector(64));
INSERT INTO t SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 64) d
						 WHERE i > 0)::tqvector
	FROM generate_series(1, 30000) i;
});

# the index's pages without each page's LSN and checksum (its first 10 bytes)
sub index_pages
{
	$node->safe_psql('postgres', 'CHECKPOINT');
	my $file = $node->data_dir . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_idx')");
	open(my $fh, '<:raw', $file) or die "open $file: $!";
	local $/;
	my $all = <$fh>;
	close $fh;
	my @pages;
	for (my $off = 0; $off < length($all); $off += 8192)
	{
		push @pages, substr($all, $off + 10, 8182);
	}
	return \@pages;
}

# Both training metrics: L2 (Lloyd) and cosine (spherical).  The workers also
# take part in every training round (blocks of sample rows), so the centroids,
# and with them every page, must equal the serial build's.
foreach my $case (['tqvector_l2_ops', '<->'], ['tqvector_cosine_ops', '<=>'])
{
	my ($opclass, $op) = @$case;
	my $build = "CREATE INDEX t_idx ON t USING turboquant (v $opclass) WITH (lists = 60)";
	$node->safe_psql('postgres', "SET max_parallel_maintenance_workers = 0; $build");
	my $serial = index_pages();
	my $answers_sql = "SET enable_seqscan = off; SET turboquant.rerank = 0; "
	  . "SELECT string_agg(x::text, ';') FROM (SELECT (SELECT array_agg(id) FROM "
	  . "(SELECT id FROM t ORDER BY v $op q.v LIMIT 20) s) AS x FROM t q WHERE q.id <= 20) y";
	my $serial_answers = $node->safe_psql('postgres', $answers_sql);
	$node->safe_psql('postgres', 'DROP INDEX t_idx');

	my $log_offset = -s $node->logfile;
	$node->safe_psql('postgres',
		"SET max_parallel_maintenance_workers = 2; SET min_parallel_table_scan_size = 0; "
		  . "SET maintenance_work_mem = '64MB'; $build");
	my $log = slurp_file($node->logfile, $log_offset);
	like($log, qr/turboquant build of "t_idx": [12] parallel workers/,
		"$opclass: the build ran with parallel workers");
	my $parallel = index_pages();

	is(scalar @$parallel, scalar @$serial, "$opclass: as many pages as the serial build");
	my $same = grep { $parallel->[$_] eq $serial->[$_] } 0 .. $#$serial;
	is($same, scalar @$serial, "$opclass: every page equals the serial build's");
	is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx', verify_codes => true)"),
		'30000', "$opclass: the parallel build passes tq_index_check");
	is($node->safe_psql('postgres', $answers_sql), $serial_answers,
		"$opclass: approximate answers equal the serial index's");
	$node->safe_psql('postgres', 'DROP INDEX t_idx');
}

# A table with more blocks than the sample needs rows is block-sampled (as
# ANALYZE samples): lists = 10 wants 640 sample rows, the table has more
# blocks than that.  The build must say so, be deterministic (the same pages
# twice) and pass the verifier.
{
	my $build = 'CREATE INDEX t_idx ON t USING turboquant (v tqvector_l2_ops) WITH (lists = 10)';
	my $log_offset = -s $node->logfile;
	$node->safe_psql('postgres', "SET max_parallel_maintenance_workers = 0; $build");
	my $log = slurp_file($node->logfile, $log_offset);
	like($log, qr/turboquant build of "t_idx": sampled \d+ of \d+ blocks, \d+ live rows, about \d+ rows/,
		'a large table is block-sampled');
	my $first = index_pages();
	is($node->safe_psql('postgres', "SELECT tq_index_check('t_idx', verify_codes => true)"),
		'30000', 'the block-sampled build passes tq_index_check');
	is($node->safe_psql('postgres', "SELECT lists, min_list_rows > 0 FROM tq_index_stats('t_idx')"),
		'10|t', 'ten lists, none empty');
	$node->safe_psql('postgres', "DROP INDEX t_idx; SET max_parallel_maintenance_workers = 0; $build");
	my $second = index_pages();
	my $same = grep { $first->[$_] eq $second->[$_] } 0 .. $#$first;
	is($same, scalar @$first, 'block sampling is deterministic: the same pages again');
	$node->safe_psql('postgres', 'DROP INDEX t_idx');
}

$node->stop;
done_testing();
