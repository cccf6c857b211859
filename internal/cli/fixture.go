package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
	"github.com/actingweb/actingweb-go/internal/fixture"
	"github.com/actingweb/actingweb-go/postgres"
)

// FixtureOptions are the options of `awfixture load` (cmd/awfixture, a development tool, not
// part of the actingweb command).
type FixtureOptions struct {
	// To is the store to load into; "" = DATABASE_BACKEND.
	To string
	// Dir is the fixture directory (default testdata/upstream-seed1).
	Dir string
	// Upgrade runs UpgradeSchema first (else the schema must be at head already).
	Upgrade bool
	// NoTTL turns DynamoDB TTL off on the attributes table before loading, so DynamoDB Local
	// does not sweep the fixture's long-expired attributes during a demo or test.
	NoTTL bool
}

// NewFixtureCmd builds the command tree of awfixture (cmd/awfixture), the development tool
// of the demo and the tests: load the upstream fixture's raw rows into a store, drop a store's
// data, turn DynamoDB TTL on or off. It takes the actingweb command's connection flags.
func (a *App) NewFixtureCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "awfixture",
		Short:         "Development helpers around the upstream fixture (demo and tests)",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.prepare(cmd)
		},
	}
	cmd.CompletionOptions.HiddenDefaultCmd = true
	cmd.SetOut(a.Stdout)
	cmd.SetErr(a.Stderr)
	a.bindConnFlags(cmd)
	var o FixtureOptions
	load := &cobra.Command{
		Use:   "load --to DST [--dir testdata/upstream-seed1]",
		Short: "Load the upstream fixture's raw rows/items into a store (tables must be empty)",
		Long: `Load the raw forms of an upstream fixture as the Python library wrote them: on PostgreSQL
postgresql/data.sql (pg_dump) into the store's schema, on DynamoDB every item of
dynamodb/<table>.jsonl into <prefix>_<table>. No codec is involved, so the result is exactly
what upstream stored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunFixtureLoad(cmd.Context(), o)) },
	}
	load.Flags().StringVar(&o.To, "to", "", "store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	load.Flags().StringVar(&o.Dir, "dir", fixture.DefaultDir, "fixture directory")
	load.Flags().BoolVar(&o.Upgrade, "upgrade", false, "create or upgrade the schema first")
	load.Flags().BoolVar(&o.NoTTL, "no-ttl", false, "DynamoDB: turn TTL off on the attributes table first (expired fixture rows stay)")
	var d FixtureDropOptions
	drop := &cobra.Command{
		Use:   "drop --to DST",
		Short: "Drop a store's data: a PostgreSQL schema (CASCADE) or the DynamoDB tables of a prefix",
		Long: `Drop everything a store holds, for demos and tests: on PostgreSQL the schema with CASCADE
(the schema "public" only with --force), on DynamoDB the nine tables of the prefix. Missing
schemas and tables are fine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunFixtureDrop(cmd.Context(), d)) },
	}
	drop.Flags().StringVar(&d.To, "to", "", "store: postgresql, dynamodb or a URL (required)")
	drop.Flags().BoolVar(&d.Force, "force", false, "allow dropping the schema public")
	var tt FixtureTTLOptions
	ttl := &cobra.Command{
		Use:   "ttl --to DST --enabled=false",
		Short: "Turn DynamoDB TTL on the attributes table on or off (reproducible demos and tests)",
		Long: `Turn TTL on <prefix>_attributes.ttl_timestamp on or off. DynamoDB Local, like AWS, sweeps
expired items once TTL is on, and the upstream fixture's attributes expired long ago, so rows
vanish within minutes and comparisons between stores become racy. 'actingweb schema upgrade'
turns TTL on; demos and tests turn it off again right after. PostgreSQL stores have no TTL: a
no-op there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunFixtureTTL(cmd.Context(), tt)) },
	}
	ttl.Flags().StringVar(&tt.To, "to", "", "store: a dynamodb URL or name (required)")
	ttl.Flags().BoolVar(&tt.Enabled, "enabled", false, "TTL on (true) or off (false)")
	cmd.AddCommand(load, drop, ttl, a.newFixtureWriteCmd())
	return cmd
}

// FixtureTTLOptions are the options of `awfixture ttl`.
type FixtureTTLOptions struct {
	To      string
	Enabled bool
}

// RunFixtureTTL turns TTL on the attributes table of a DynamoDB store on or off.
func (a *App) RunFixtureTTL(ctx context.Context, o FixtureTTLOptions) error {
	if strings.TrimSpace(o.To) == "" {
		return usageErrorf("fixture ttl: --to is required")
	}
	s, _, err := a.OpenStore(ctx, o.To)
	if err != nil {
		return err
	}
	defer s.Close()
	st, ok := s.(*dynamodb.Store)
	if !ok {
		a.Logger.Info("no TTL on this backend; nothing to do", "store", s.Describe())
		return nil
	}
	if err := setTTL(ctx, st, o.Enabled); err != nil {
		return err
	}
	name := st.TableName(actingweb.TableAttributes)
	fmt.Fprintf(a.Stdout, "TTL on %s.ttl_timestamp: enabled=%v\n", name, o.Enabled)
	return nil
}

// FixtureDropOptions are the options of `awfixture drop`.
type FixtureDropOptions struct {
	To    string
	Force bool
}

// RunFixtureDrop drops the schema or the tables of o.To.
func (a *App) RunFixtureDrop(ctx context.Context, o FixtureDropOptions) error {
	if strings.TrimSpace(o.To) == "" {
		return usageErrorf("fixture drop: --to is required")
	}
	s, _, err := a.OpenStore(ctx, o.To)
	if err != nil {
		return err
	}
	defer s.Close()
	switch st := s.(type) {
	case *postgres.Store:
		if st.Schema() == "public" && !o.Force {
			return usageErrorf("fixture drop: refusing to drop the schema public without --force")
		}
		if _, err := st.Pool().Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{st.Schema()}.Sanitize()+" CASCADE"); err != nil {
			return fmt.Errorf("fixture drop: %s: %w", s.Describe(), err)
		}
	case *dynamodb.Store:
		if err := st.DropTables(ctx); err != nil {
			return fmt.Errorf("fixture drop: %s: %w", s.Describe(), err)
		}
	default:
		return fmt.Errorf("fixture drop: unsupported store %s", s.Describe())
	}
	fmt.Fprintf(a.Stdout, "dropped %s\n", s.Describe())
	return nil
}

// RunFixtureLoad loads the fixture in o.Dir into o.To.
func (a *App) RunFixtureLoad(ctx context.Context, o FixtureOptions) error {
	to, err := a.ChooseStore("fixture", o.To, "--to", "")
	if err != nil {
		return err
	}
	if o.Dir == "" {
		o.Dir = fixture.DefaultDir
	}
	s, spec, err := a.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer s.Close()
	if o.Upgrade {
		if _, err := s.UpgradeSchema(ctx); err != nil {
			return fmt.Errorf("fixture load: schema upgrade of %s: %w", s.Describe(), err)
		}
	}
	if err := s.CheckSchema(ctx); err != nil {
		return fmt.Errorf("fixture load into %s: %w (run 'actingweb schema upgrade --to %s' or add --upgrade)", s.Describe(), err, spec.Arg)
	}
	counts := map[string]int{}
	switch st := s.(type) {
	case *postgres.Store:
		res, err := fixture.LoadPostgres(ctx, st.Pool(), st.Schema(), o.Dir)
		if err != nil {
			return err
		}
		counts = res.Rows
	case *dynamodb.Store:
		if o.NoTTL {
			if err := setTTL(ctx, st, false); err != nil {
				return err
			}
		}
		prefix := strings.TrimSuffix(st.TableName(actingweb.TableActors), "_"+actingweb.TableActors.DynamoDBSuffix())
		res, err := fixture.LoadDynamoDB(ctx, st.Client(), prefix, o.Dir)
		if err != nil {
			return err
		}
		counts = res.Items
	default:
		return fmt.Errorf("fixture load: unsupported store %s", s.Describe())
	}
	names := make([]string, 0, len(counts))
	total := 0
	for n, c := range counts {
		names = append(names, n)
		total += c
	}
	sort.Strings(names)
	fmt.Fprintf(a.Stdout, "loaded %s into %s\n", o.Dir, s.Describe())
	for _, n := range names {
		fmt.Fprintf(a.Stdout, "  %-40s %6d\n", n, counts[n])
	}
	fmt.Fprintf(a.Stdout, "  %-40s %6d\n", "total", total)
	return nil
}

// setTTL turns TTL on the attributes table of st on or off (a no-op when already so).
func setTTL(ctx context.Context, st *dynamodb.Store, on bool) error {
	var err error
	if on {
		_, _, err = st.EnableTTL(ctx)
	} else {
		_, err = st.DisableTTL(ctx)
	}
	if err != nil {
		return fmt.Errorf("fixture ttl: %w", err)
	}
	return nil
}

// FixtureWriteOptions are the options of `awfixture write`.
type FixtureWriteOptions struct {
	To     string
	Prefix string        // id prefix of the actors the writer creates
	Every  time.Duration // pause between rounds
}

func (a *App) newFixtureWriteCmd() *cobra.Command {
	var o FixtureWriteOptions
	cmd := &cobra.Command{
		Use:   "write --to STORE [--prefix w] [--every 50ms]",
		Short: "Write to a store as a live ActingWeb deployment does, until SIGINT/SIGTERM (demo of a live migration)",
		Long: `Run rounds of an application's writes on a store (fixture.LiveRound): actors created with
indexed and large properties, attributes with a TTL, trusts, subscriptions with diffs, and on the
store's existing actors e-mail changes, deletes and cascaded actor deletes. Stops on SIGINT or
SIGTERM after the round in progress and prints how many rounds it wrote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunFixtureWrite(cmd.Context(), o)) },
	}
	cmd.Flags().StringVar(&o.To, "to", "", "store: postgresql, dynamodb or a URL (required)")
	cmd.Flags().StringVar(&o.Prefix, "prefix", "w", "id prefix of the actors the writer creates (unique per run)")
	cmd.Flags().DurationVar(&o.Every, "every", 50*time.Millisecond, "pause between rounds")
	return cmd
}

// RunFixtureWrite runs writer rounds on o.To until ctx ends.
func (a *App) RunFixtureWrite(ctx context.Context, o FixtureWriteOptions) error {
	if strings.TrimSpace(o.To) == "" {
		return usageErrorf("fixture write: --to is required")
	}
	s, _, err := a.OpenStore(ctx, o.To)
	if err != nil {
		return err
	}
	defer s.Close()
	st, ok := s.(actingweb.Store)
	if !ok {
		return fmt.Errorf("fixture write: %s has no application face", s.Describe())
	}
	actors, err := st.ListActors(ctx)
	if err != nil {
		return err
	}
	existing := []string{"nobody"}
	for _, x := range actors {
		existing = append(existing, x.ID)
	}
	rounds := 0
	defer func() { fmt.Fprintf(a.Stdout, "writer: %d rounds written to %s\n", rounds, s.Describe()) }()
	work := context.WithoutCancel(ctx) // a round in progress finishes
	for {
		if ctx.Err() != nil {
			return nil
		}
		if err := fixture.LiveRound(work, st, o.Prefix, rounds, existing[rounds%len(existing)]); err != nil {
			return err
		}
		rounds++
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Every):
		}
	}
}
