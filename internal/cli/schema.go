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
such step: it captures through logical replication (wal_level=logical).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return failed(a.RunSchemaUpgrade(cmd.Context(), up)) },
	}
	upgrade.Flags().StringVar(&up.To, "to", "", "store: postgresql, dynamodb or a URL (default DATABASE_BACKEND)")
	upgrade.Flags().BoolVar(&up.JSON, "json", false, "print the resulting status as JSON")
	upgrade.Flags().BoolVar(&up.Streams, "streams", false, "DynamoDB: also enable a stream on each table (for 'actingweb sync')")
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

// RunSchemaUpgrade upgrades o.To to head and prints the resulting status; with o.Streams
// (DynamoDB only) it then enables the tables' streams and prints the tables it changed.
func (a *App) RunSchemaUpgrade(ctx context.Context, o SchemaOptions) error {
	to, err := a.ChooseStore("schema", o.To, "--to", "")
	if err != nil {
		return err
	}
	if o.Streams {
		spec, err := a.ResolveStore(to)
		if err != nil {
			return err
		}
		if spec.Backend != BackendDynamoDB {
			return usageErrorf("--streams applies to DynamoDB only: PostgreSQL captures changes through logical replication " +
				"(wal_level=logical on the server), which needs no schema step")
		}
	}
	s, _, err := a.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer s.Close()
	a.Logger.Info("upgrading schema", "store", s.Describe())
	st, err := s.UpgradeSchema(ctx)
	if err != nil {
		return fmt.Errorf("schema upgrade of %s: %w", s.Describe(), err)
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
