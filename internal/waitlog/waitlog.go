// Package waitlog says, while a first contact with a store waits for an answer, that it is
// still waiting: no command stays silent for longer than Interval.
package waitlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Interval is how often Start logs; a variable for tests.
var Interval = 5 * time.Second

// Start logs "still waiting for <what> (<elapsed> of <deadline>, <setting>)" at warn level on
// slog's default logger every Interval until the returned stop is called (any number of times)
// or ctx ends. setting names the knob that sets the deadline (PG_POOL_TIMEOUT, ...).
func Start(ctx context.Context, what string, deadline time.Duration, setting string) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				slog.Warn(fmt.Sprintf("still waiting for %s (%s of %s, %s)", what,
					time.Since(start).Round(time.Second), deadline, setting))
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}
