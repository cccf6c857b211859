package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/dynamodb"
)

// SchemaOptions are the options of `actingweb schema status` and `actingweb schema upgrade`.
type SchemaOptions struct {
	// To is the store (backend name or URL); "" = DATABASE_BACKEND.
	To string
	// JSON prints the status as JSON instead of text.
	JSON bool
	// Streams (upgrade, DynamoDB only) also enables a DynamoDB stream on each of the nine
	// tables, for `actingweb sync`.
	Streams bool
	// LegacyPropertyIndex (upgrade, DynamoDB only) also creates the GSI property-index on the
	// properties table, which legacy mode (USE_PROPERTY_LOOKUP_TABLE=false) resolves reverse
	// lookups through (dynamodb.Store.EnsureLegacyPropertyIndex).
	LegacyPropertyIndex bool
}

// legacyIndexer is a store that can create the legacy property index
// (dynamodb.Store.EnsureLegacyPropertyIndex).
type legacyIndexer interface {
	EnsureLegacyPropertyIndex(ctx context.Context) (bool, error)
	TableName(t actingweb.Table) string
}

// streamEnabler is a store that can enable change streams (dynamodb.Store.EnableStreams).
type streamEnabler interface {
	EnableStreams(ctx context.Context) ([]string, error)
}

func (a *App) newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Show or upgrade the physical schema of a store",
	}
	var st SchemaOptions
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the schema state (exit 0 at head, 3 when an upgrade is needed, 1 on error)",
		Long: `Show the schema state of a store without changing anything: PostgreSQL's Alembic
revision against head ` + actingweb.AlembicHead + ` and the tables present; DynamoDB's tables, GSIs,
billing mode and TTL under the prefix.

Exit codes: 0 the schema is at head and complete, 3 it is not (run 'actingweb schema
upgrade'), 1 the status could not be read (connection, permissions).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunSchemaStatus(cmd.Context(), st)) },
	}
	status.Flags().StringVar(&st.To, "to", "", "store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	status.Flags().BoolVar(&st.JSON, "json", false, "print the status as JSON")

	var up SchemaOptions
	upgrade := &cobra.Command{
		Use:   "upgrade",
		Short: "Create or upgrade the schema to head (idempotent)",
		Long: `Create or upgrade the schema of a store: PostgreSQL tables, indexes and the alembic_version
row at head ` + actingweb.AlembicHead + ` (a database Alembic built below head gets the missing
steps); DynamoDB tables with their GSIs, on-demand billing and TTL on attributes. Running it
again changes nothing.

--streams (DynamoDB) also enables a DynamoDB stream (view type ` + string(dynamodb.StreamViewType) + `) on
each of the nine tables, which 'actingweb sync' reads to capture changes. PostgreSQL needs no
such step: it captures through logical replication (wal_level=logical).

--legacy-property-index (DynamoDB) upgrades a deployment that runs upstream's legacy mode
(USE_PROPERTY_LOOKUP_TABLE=false, whatever the variable says here): it creates the GSI
` + dynamodb.LegacyPropertyIndex + ` (hash key value, projection ALL) on the properties table, through
which that mode resolves reverse lookups, and does not create the property lookup table, which
that mode never uses. The command waits until DynamoDB has filled the index. PostgreSQL's
legacy mode needs no index.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunSchemaUpgrade(cmd.Context(), up)) },
	}
	upgrade.Flags().StringVar(&up.To, "to", "", "store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	upgrade.Flags().BoolVar(&up.JSON, "json", false, "print the resulting status as JSON")
	upgrade.Flags().BoolVar(&up.Streams, "streams", false, "DynamoDB: also enable a stream on each table (for 'actingweb sync')")
	upgrade.Flags().BoolVar(&up.LegacyPropertyIndex, "legacy-property-index", false,
		"DynamoDB: also create the GSI "+dynamodb.LegacyPropertyIndex+" legacy mode (USE_PROPERTY_LOOKUP_TABLE=false) needs")
	cmd.AddCommand(status, upgrade)
	return cmd
}

// RunSchemaStatus prints the schema status of o.To; ExitMismatch when it is not at head.
func (a *App) RunSchemaStatus(ctx context.Context, o SchemaOptions) error {
	to, err := a.ChooseStore("schema", o.To, "--to", "")
	if err != nil {
		return err
	}
	s, spec, err := a.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.SchemaStatus(ctx)
	if err != nil {
		return fmt.Errorf("schema status of %s: %w", s.Describe(), err)
	}
	if err := writeStatus(a.Stdout, s.Describe(), st, o.JSON); err != nil {
		return err
	}
	if !st.AtHead {
		return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("schema of %s is not at head: run 'actingweb schema upgrade --to %s'",
			s.Describe(), spec.Arg)}
	}
	return nil
}

// RunSchemaUpgrade upgrades o.To to head and prints the resulting status; with
// o.LegacyPropertyIndex (DynamoDB only) it creates the legacy GSI before printing (a note says
// whether it was created); with o.Streams (DynamoDB only) it then enables the tables' streams
// and prints the tables it changed.
func (a *App) RunSchemaUpgrade(ctx context.Context, o SchemaOptions) error {
	to, err := a.ChooseStore("schema", o.To, "--to", "")
	if err != nil {
		return err
	}
	var legacySpec *StoreSpec
	if o.Streams || o.LegacyPropertyIndex {
		spec, err := a.ResolveStore(to)
		if err != nil {
			return err
		}
		legacySpec = &spec
		if spec.Backend != BackendDynamoDB && o.Streams {
			return usageErrorf("--streams applies to DynamoDB only: PostgreSQL captures changes through logical replication " +
				"(wal_level=logical on the server), which needs no schema step")
		}
		if spec.Backend != BackendDynamoDB {
			return usageErrorf("--legacy-property-index applies to DynamoDB only: PostgreSQL's legacy mode " +
				"(USE_PROPERTY_LOOKUP_TABLE=false) scans the properties table and needs no index")
		}
	}
	var s Store
	if o.LegacyPropertyIndex {
		// The flag declares a legacy-mode deployment: no property lookup table is created.
		spec := *legacySpec
		for _, w := range spec.Warnings {
			a.Logger.Warn(w, "store", spec.String())
		}
		spec.DynamoDB.Lookup.UseLookupTable = false
		if s, err = a.openDynamoDB(ctx, spec.DynamoDB); err != nil {
			return fmt.Errorf("open %s: %w", spec, err)
		}
	} else if s, _, err = a.OpenStore(ctx, to); err != nil {
		return err
	}
	defer s.Close()
	a.Logger.Info("upgrading schema", "store", s.Describe())
	st, err := s.UpgradeSchema(ctx)
	if err != nil {
		return fmt.Errorf("schema upgrade of %s: %w", s.Describe(), err)
	}
	if o.LegacyPropertyIndex {
		if st, err = a.ensureLegacyIndex(ctx, s, st); err != nil {
			return err
		}
	}
	if err := writeStatus(a.Stdout, s.Describe(), st, o.JSON); err != nil {
		return err
	}
	if !st.AtHead {
		return fmt.Errorf("schema upgrade of %s finished but the schema is not at head (missing: %s)", s.Describe(), listOrNone(st.Missing))
	}
	if o.Streams {
		se, ok := s.(streamEnabler)
		if !ok {
			return fmt.Errorf("enable streams on %s: the store cannot capture changes through streams", s.Describe())
		}
		changed, err := se.EnableStreams(ctx)
		// Text output gets a line (the JSON status stays the only thing on stdout with --json).
		a.Logger.Info("streams enabled", "store", s.Describe(), "tables", changed, "view_type", string(dynamodb.StreamViewType))
		if !o.JSON && len(changed) > 0 {
			fmt.Fprintf(a.Stdout, "streams:   enabled on %s (view type %s)\n", strings.Join(changed, ", "), dynamodb.StreamViewType)
		}
		if err != nil {
			return fmt.Errorf("enable streams on %s: %w", s.Describe(), err)
		}
		if !o.JSON && len(changed) == 0 {
			fmt.Fprintf(a.Stdout, "streams:   already enabled on all %d tables (view type %s or NEW_IMAGE)\n", len(actingweb.Tables), dynamodb.StreamViewType)
		}
	}
	return nil
}

// ensureLegacyIndex creates the legacy property index on s and returns the status read again,
// with the notes of st about created tables and one saying what happened to the index.
func (a *App) ensureLegacyIndex(ctx context.Context, s Store, st actingweb.SchemaStatus) (actingweb.SchemaStatus, error) {
	li, ok := s.(legacyIndexer)
	if !ok {
		return st, fmt.Errorf("create the legacy property index on %s: the store has no such index", s.Describe())
	}
	table := li.TableName(actingweb.TableProperties)
	a.Logger.Info("creating the legacy property index (DynamoDB backfills it; this waits until it is ACTIVE)",
		"table", table, "index", dynamodb.LegacyPropertyIndex)
	created, err := li.EnsureLegacyPropertyIndex(ctx)
	if err != nil {
		return st, fmt.Errorf("create the legacy property index on %s: %w", s.Describe(), err)
	}
	st2, err := s.SchemaStatus(ctx)
	if err != nil {
		return st, fmt.Errorf("schema status of %s: %w", s.Describe(), err)
	}
	for _, n := range st.Notes {
		if strings.HasPrefix(n, "created ") {
			st2.Notes = append(st2.Notes, n)
		}
	}
	if created {
		st2.Notes = append(st2.Notes, fmt.Sprintf("created GSI %s on %s (hash key value, projection ALL)", dynamodb.LegacyPropertyIndex, table))
	} else {
		st2.Notes = append(st2.Notes, fmt.Sprintf("GSI %s on %s already present: nothing changed", dynamodb.LegacyPropertyIndex, table))
	}
	return st2, nil
}

func writeStatus(w io.Writer, store string, st actingweb.SchemaStatus, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Store string `json:"store"`
			actingweb.SchemaStatus
		}{store, st})
	}
	head := "no"
	if st.AtHead {
		head = "yes"
	}
	fmt.Fprintf(w, "store:     %s\n", store)
	fmt.Fprintf(w, "backend:   %s\n", st.Backend)
	fmt.Fprintf(w, "location:  %s\n", st.Location)
	if st.Backend == "postgresql" || st.Head != "" {
		v := st.Version
		if v == "" {
			v = "(none)"
		}
		fmt.Fprintf(w, "version:   %s (head %s)\n", v, st.Head)
	}
	fmt.Fprintf(w, "at head:   %s\n", head)
	fmt.Fprintf(w, "tables:    %s\n", listOrNone(st.Tables))
	fmt.Fprintf(w, "missing:   %s\n", listOrNone(st.Missing))
	for _, n := range st.Notes {
		fmt.Fprintf(w, "note:      %s\n", n)
	}
	return nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ", ")
}
