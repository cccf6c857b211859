package migrate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// WriteText renders the report as a summary table for people (no secrets: keys and reasons
// only; every key, reason and sample passed through actingweb.Printable).
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing written)"
	}
	if r.Resumed {
		mode += " (resumed)"
	}
	policy := ""
	if r.Policy != "" {
		policy = ", policy " + r.Policy
	}
	fmt.Fprintf(&b, "%s %s -> %s%s%s\n", r.Operation, actingweb.Printable(r.Source), actingweb.Printable(r.Target), policy, mode)
	if len(r.Tables) == 0 && r.Lookup == nil {
		// refused before any table started (e.g. nothing to resume, a schema not at head)
		_, err := io.WriteString(w, b.String()+"nothing was read or written\n")
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tread\twritten\tskipped\trejected\tdrift\tbytes\tseconds\trows/s\tstatus\t")
	row := func(s TableSummary, status string) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t%s\t\n", s.Table, s.Read, s.Written, s.Skipped,
			s.Rejected, s.Drift, s.Bytes, s.Duration.Seconds(), s.RowsPerSec, status)
	}
	for _, s := range r.Tables {
		status := "done"
		if !s.Done {
			status = "stopped"
		} else if s.Resumed && s.Read == 0 {
			status = "done earlier"
		}
		row(s, status)
	}
	row(r.Totals(), "")
	tw.Flush()
	for _, s := range r.Tables {
		for _, k := range s.DriftKeys {
			fmt.Fprintf(&b, "drift %s: %s (copied as stored)\n", s.Table, actingweb.Printable(k))
		}
		for _, k := range s.RejectSamples {
			fmt.Fprintf(&b, "reject %s: %s\n", s.Table, actingweb.Printable(k))
		}
	}
	if l := r.Lookup; l != nil {
		if l.Skipped != "" {
			fmt.Fprintf(&b, "property lookup rebuild skipped: %s\n", actingweb.Printable(l.Skipped))
		} else {
			x := l.Result
			how := "rescan of properties"
			if l.FromStream {
				how = "built while properties were written"
			}
			fmt.Fprintf(&b, "property lookup rebuilt for %s (%s): scanned %d, written %d, existing %d, collisions %d, orphans %d\n",
				strings.Join(l.Names, ","), how, x.Scanned, x.Written, x.Existing, x.Collisions, x.Orphans)
			for _, s := range x.Samples {
				fmt.Fprintf(&b, "  %s\n", actingweb.Printable(s))
			}
			if l.Contested > 0 || x.ContestedTruncated {
				fmt.Fprintf(&b, "contested lookup keys (a value several actors hold): %d; owners taken from the source's lookup table: %d",
					l.Contested, l.OwnersFromSource)
				if l.SourceOwnerNotContender > 0 {
					fmt.Fprintf(&b, "; source owner not holding the value here (rebuild's owner kept): %d", l.SourceOwnerNotContender)
				}
				b.WriteString("\n")
			}
			if l.SourceOwners != "" {
				fmt.Fprintf(&b, "  %s\n", actingweb.Printable(l.SourceOwners))
			}
		}
	}
	if r.Estimated != nil {
		fmt.Fprintf(&b, "read time %s (a lower bound for the real run)\n", r.Estimated.Round(time.Millisecond))
	}
	if r.StateDir != "" && r.Totals().Rejected > 0 {
		fmt.Fprintf(&b, "rejected rows are listed in %s/<table>.rejects.jsonl (0600, holds secrets)\n", r.StateDir)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
