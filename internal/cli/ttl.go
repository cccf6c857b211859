package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/postgres"
)

// TTLPurgeOptions are the options of `actingweb ttl purge`.
type TTLPurgeOptions struct {
	// To is the store; "" = DATABASE_BACKEND.
	To string
	// Every > 0 runs a purge now and then every Every until the context ends (SIGINT,
	// SIGTERM); a failed round is logged and retried at the next tick. PostgreSQL only.
	Every time.Duration
	// Batch is the most rows one transaction deletes (0 = postgres.DefaultPurgeBatch).
	Batch int
	// BatchTimeout bounds each batch's statement (0 = wait forever).
	BatchTimeout time.Duration
	// Enable enables DynamoDB's TTL on ttl_timestamp when it is off. DynamoDB only.
	Enable bool
}

const ttlPurgeLong = `Delete expired attributes: rows of the attributes table whose ttl_timestamp (epoch seconds,
written as now + ttl + 3600 by the application) lies before now. Strict reads already treat
them as absent; the purge reclaims the space.

PostgreSQL: the rows are deleted in batches of at most --batch rows, each batch its own short
transaction using the index idx_attributes_ttl, so the table is never locked for longer than
one batch and the application keeps writing. Rows the application holds locked are skipped
(the next purge takes them). The report on stdout gives the rows deleted per bucket (never
attribute names or values), the total and the time taken. With --every the command runs as a
long-lived job: a purge now and then every DURATION until SIGINT or SIGTERM, one log line per
round; a failed round (the server restarting, the connection lost) is logged and tried again
at the next tick, and the totals since the start are printed at the end. Run it from cron, a
systemd timer or a Kubernetes CronJob instead, without --every, as docs/operations.md shows.

DynamoDB: nothing is deleted by this command; DynamoDB's own TTL deletes expired items for
free (usually within 48 hours) once TTL is enabled on <prefix>_attributes.ttl_timestamp. The
command reports whether it is; --enable enables it (as 'actingweb schema upgrade' does for
the tables it creates).

Exit codes: 0 done (DynamoDB: TTL is on), 1 failed, 2 usage, 3 DynamoDB's TTL is off (run
with --enable).`

func (a *App) newTTLCmd() *cobra.Command {
	ttl := &cobra.Command{
		Use:   "ttl",
		Short: "Clean up expired attributes (TTL)",
		Args:  cobra.NoArgs,
	}
	var o TTLPurgeOptions
	purge := &cobra.Command{
		Use:   "purge [--to STORE] [--every DURATION] [--batch N] [--enable]",
		Short: "Delete expired attributes in short batches (PostgreSQL); report or enable TTL (DynamoDB)",
		Long:  ttlPurgeLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return failed(a.RunTTLPurge(cmd.Context(), o)) },
	}
	f := purge.Flags()
	f.StringVar(&o.To, "to", "", "the store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	f.DurationVar(&o.Every, "every", 0, "PostgreSQL: run as a long-lived job, a purge now and then every DURATION (e.g. 10m) until SIGINT/SIGTERM")
	f.IntVar(&o.Batch, "batch", postgres.DefaultPurgeBatch, "PostgreSQL: most rows deleted per transaction")
	f.DurationVar(&o.BatchTimeout, "batch-timeout", time.Minute, "PostgreSQL: fail a batch that gets no answer for this long; 0 = wait forever")
	f.BoolVar(&o.Enable, "enable", false, "DynamoDB: enable TTL on <prefix>_attributes.ttl_timestamp when it is off")
	ttl.AddCommand(purge)
	return ttl
}

// RunTTLPurge purges expired attributes on PostgreSQL (once, or every o.Every until ctx ends)
// or reports (and with o.Enable enables) TTL on DynamoDB; ExitMismatch when DynamoDB's TTL is
// off and o.Enable is not set.
func (a *App) RunTTLPurge(ctx context.Context, o TTLPurgeOptions) error {
	if o.Batch < 0 || o.Every < 0 || o.BatchTimeout < 0 {
		return usageErrorf("ttl purge: --batch, --every and --batch-timeout must not be negative")
	}
	to, err := a.ChooseStore("ttl purge", o.To, "--to", "")
	if err != nil {
		return err
	}
	spec, err := a.ResolveStore(to)
	if err != nil {
		return err
	}
	switch spec.Backend {
	case BackendDynamoDB:
		if o.Every > 0 {
			return usageErrorf("ttl purge --every applies to PostgreSQL: on DynamoDB, TTL deletes expired attributes itself (check it with 'actingweb ttl purge --to %s')", spec.Arg)
		}
	default:
		if o.Enable {
			return usageErrorf("ttl purge --enable applies to DynamoDB (PostgreSQL has no TTL of its own: run 'ttl purge' from a schedule, or with --every)")
		}
	}
	s, _, err := a.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer s.Close()
	switch st := s.(type) {
	case *dynamodb.Store:
		return a.ttlDynamoDB(ctx, st, o)
	case *postgres.Store:
		return a.ttlPostgres(ctx, st, o)
	}
	return fmt.Errorf("ttl purge: %s is neither a PostgreSQL nor a DynamoDB store", s.Describe())
}

// ttlDynamoDB reports TTL on the attributes table and enables it with o.Enable.
func (a *App) ttlDynamoDB(ctx context.Context, s *dynamodb.Store, o TTLPurgeOptions) error {
	st, err := s.TTL(ctx)
	if err != nil {
		return fmt.Errorf("ttl purge: %w", err)
	}
	if !st.On() && o.Enable {
		before := st
		var changed bool
		st, changed, err = s.EnableTTL(ctx)
		if err != nil {
			return fmt.Errorf("ttl purge --enable: %w", err)
		}
		if changed {
			fmt.Fprintf(a.Stdout, "enabled TTL on %s.%s (was %s)\n", st.Table, dynamodb.TTLAttribute, describeTTLBefore(before))
		}
	}
	fmt.Fprintln(a.Stdout, safeLine(st.String()))
	fmt.Fprintln(a.Stdout, "This command deletes nothing on DynamoDB: its TTL deletes expired attributes itself.")
	if !st.On() {
		return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("ttl purge: TTL is not enabled on %s.%s: expired attributes stay; run 'actingweb ttl purge --to dynamodb --enable'",
			st.Table, dynamodb.TTLAttribute)}
	}
	return nil
}

func describeTTLBefore(st dynamodb.TTLState) string {
	if st.Attribute == "" {
		return st.Status
	}
	return st.Status + " on " + st.Attribute
}

// ttlPostgres runs one purge, or rounds every o.Every until ctx ends.
func (a *App) ttlPostgres(ctx context.Context, s *postgres.Store, o TTLPurgeOptions) error {
	round := func() (postgres.PurgeCounts, time.Time, time.Duration, error) {
		start := time.Now()
		c, err := s.PurgeExpiredAttributes(ctx, start, o.Batch, o.BatchTimeout, func(b postgres.PurgeCounts) error {
			a.Logger.Debug("ttl purge: batch committed", "rows", b.Rows, "buckets", bucketList(b.Buckets))
			return nil
		})
		return c, start, time.Since(start), err
	}
	if o.Every == 0 {
		c, cutoff, took, err := round()
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (interrupted after deleting %d rows)", ctx.Err(), c.Rows)
			}
			if c.Rows > 0 {
				writePurgeReport(a.Stdout, purgeHeader(s, cutoff)+" (failed part-way)", c, took)
			}
			return fmt.Errorf("ttl purge on %s failed: %w", s.Describe(), err)
		}
		writePurgeReport(a.Stdout, purgeHeader(s, cutoff), c, took)
		return nil
	}

	a.Logger.Info("ttl purge: running until SIGINT or SIGTERM", "store", s.Describe(), "every", o.Every, "batch", o.Batch)
	started := time.Now()
	var total postgres.PurgeCounts
	var rounds, failedRounds int
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	for {
		c, cutoff, took, err := round()
		total.Add(c)
		rounds++
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped by a signal in the middle of a batch: that batch was rolled back.
		case err != nil && permanentPurgeError(err):
			failedRounds++
			writePurgeReport(a.Stdout, jobHeader(s, rounds, failedRounds, started), total, time.Since(started))
			return fmt.Errorf("ttl purge on %s failed, not retrying: %w", s.Describe(), err)
		case err != nil:
			failedRounds++
			a.Logger.Warn("ttl purge: round failed; retrying at the next tick", "rows", c.Rows,
				"err", safeLine(err.Error()), "next", o.Every)
		default:
			a.Logger.Info("ttl purge: round done", "rows", c.Rows, "batches", c.Batches,
				"buckets", bucketList(c.Buckets), "cutoff", cutoff.Unix(), "took", took.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			a.Logger.Info("ttl purge: stopped", "rounds", rounds, "failed_rounds", failedRounds, "rows", total.Rows)
			writePurgeReport(a.Stdout, jobHeader(s, rounds, failedRounds, started), total, time.Since(started))
			return nil
		case <-tick.C:
		}
	}
}

func purgeHeader(s *postgres.Store, cutoff time.Time) string {
	return fmt.Sprintf("ttl purge on %s: expired attributes (ttl_timestamp < %d, %s)",
		s.Describe(), cutoff.Unix(), cutoff.UTC().Format(time.RFC3339))
}

func jobHeader(s *postgres.Store, rounds, failed int, started time.Time) string {
	return fmt.Sprintf("ttl purge on %s: totals of %d rounds (%d failed) since %s",
		s.Describe(), rounds, failed, started.UTC().Format(time.RFC3339))
}

// permanentPurgeError reports whether a failed purge cannot succeed by itself on a later
// round: the table or schema is missing, or the role lacks a privilege (SQLSTATE class 42).
// Anything else (a lost connection, a server restarting, a timeout) may heal.
func permanentPurgeError(err error) bool {
	if errors.Is(err, actingweb.ErrSchema) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "42")
}

// bucketList is "bucket=rows ..." in bucket order (bucket names escaped), for log lines.
func bucketList(m map[string]int64) string {
	var parts []string
	for _, b := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", actingweb.Printable(b), m[b]))
	}
	return strings.Join(parts, " ")
}

// writePurgeReport prints what a purge deleted: rows per bucket (names escaped; never
// attribute names or values), the total, the batches and the time taken, under header.
func writePurgeReport(w io.Writer, header string, c postgres.PurgeCounts, took time.Duration) {
	fmt.Fprintln(w, header)
	if len(c.Buckets) > 0 {
		width := len("BUCKET")
		names := slices.Sorted(maps.Keys(c.Buckets))
		for _, b := range names {
			width = max(width, len(actingweb.Printable(b)))
		}
		fmt.Fprintf(w, "  %-*s  %12s\n", width, "BUCKET", "DELETED")
		for _, b := range names {
			fmt.Fprintf(w, "  %-*s  %12d\n", width, actingweb.Printable(b), c.Buckets[b])
		}
	}
	fmt.Fprintf(w, "deleted %d rows in %d buckets (%d batches) in %s\n", c.Rows, len(c.Buckets), c.Batches, took.Round(time.Millisecond))
}
