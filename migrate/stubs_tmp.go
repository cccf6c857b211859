package migrate

import (
	"context"
	"errors"
	"io"
)

var errNotYet = errors.New("migrate: not implemented yet")

func run(ctx context.Context, op string, src Source, dst Sink, o Options) (*Report, error) {
	return nil, errNotYet
}
func export(ctx context.Context, src Source, dir string, o Options) (*Report, error) {
	return nil, errNotYet
}
func importBundle(ctx context.Context, dir string, dst Sink, o Options) (*Report, error) {
	return nil, errNotYet
}
func validate(ctx context.Context, a, b Source, o ValidateOptions) (*ValidationReport, error) {
	return nil, errNotYet
}

// WriteText renders the report as a summary table for people.
func (r *Report) WriteText(w io.Writer) error { return errNotYet }

// WriteText renders the validation report for people.
func (r *ValidationReport) WriteText(w io.Writer) error { return errNotYet }
