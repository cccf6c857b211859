package migrate

import (
	"context"
	"errors"
	"io"
)

func validate(ctx context.Context, a, b Source, o ValidateOptions) (*ValidationReport, error) {
	return nil, errors.New("migrate: validate not implemented yet")
}

// WriteText renders the validation report for people.
func (r *ValidationReport) WriteText(w io.Writer) error { return errors.New("not yet") }
