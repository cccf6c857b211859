package cli

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/migrate"
)

// progressReporter is a migrate.Progress that can be stopped (flushing bars or the last lines).
type progressReporter interface {
	migrate.Progress
	Stop()
}

// newProgress returns bars on a terminal, periodic log lines otherwise (every interval per
// active table), or nothing when quiet.
func (a *App) newProgress(quiet bool, interval time.Duration) progressReporter {
	switch {
	case quiet:
		return nopProgress{}
	case a.Terminal:
		return newBarProgress(a)
	}
	return newLogProgress(a.Logger, interval)
}

type nopProgress struct{}

func (nopProgress) TableStarted(actingweb.Table, int64)             {}
func (nopProgress) Rows(actingweb.Table, int)                       {}
func (nopProgress) TableDone(actingweb.Table, migrate.TableSummary) {}
func (nopProgress) Stop()                                           {}

// barProgress draws one mpb bar per table: rows, rows/s and ETA (from the estimate given to
// TableStarted; without one, a counter only). Log lines go above the bars meanwhile.
type barProgress struct {
	app     *App
	p       *mpb.Progress
	cancel  context.CancelFunc
	prevLog io.Writer
	mu      sync.Mutex
	bars    map[actingweb.Table]*tableBar
}

type tableBar struct {
	bar   *mpb.Bar
	total int64 // 0 = dynamic
}

func newBarProgress(a *App) *barProgress {
	ctx, cancel := context.WithCancel(context.Background())
	p := mpb.NewWithContext(ctx, mpb.WithOutput(a.Stderr), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	b := &barProgress{app: a, p: p, cancel: cancel, bars: map[actingweb.Table]*tableBar{}}
	b.prevLog = a.logOut.set(p)
	return b
}

func (b *barProgress) TableStarted(t actingweb.Table, estimate int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.bars[t]; ok {
		return
	}
	total := estimate
	if total < 0 {
		total = 0 // dynamic total: grows with the rows
	}
	name := decor.Name(string(t), decor.WC{C: decor.DindentRight | decor.DextraSpace, W: 26})
	var after []decor.Decorator
	if estimate >= 0 {
		after = []decor.Decorator{
			decor.CountersNoUnit("%d / %d", decor.WC{W: 20}),
			decor.AverageSpeed(nil, " %.0f rows/s", decor.WC{W: 16}),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_MMSS, decor.WC{W: 8}), " done"),
		}
	} else {
		after = []decor.Decorator{
			decor.CurrentNoUnit("%d rows", decor.WC{W: 20}),
			decor.AverageSpeed(nil, " %.0f rows/s", decor.WC{W: 16}),
		}
	}
	b.bars[t] = &tableBar{bar: b.p.AddBar(total, mpb.PrependDecorators(name), mpb.AppendDecorators(after...)), total: total}
}

func (b *barProgress) Rows(t actingweb.Table, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tb := b.bars[t]
	if tb == nil {
		return
	}
	// A bar with a known total completes when the count reaches it: keep the total ahead of
	// the count when the estimate was low, so only TableDone completes it.
	if cur := tb.bar.Current() + int64(n); tb.total > 0 && cur >= tb.total {
		tb.total = cur + 1
		tb.bar.SetTotal(tb.total, false)
	}
	tb.bar.IncrBy(n)
}

func (b *barProgress) TableDone(t actingweb.Table, s migrate.TableSummary) {
	b.mu.Lock()
	tb := b.bars[t]
	b.mu.Unlock()
	if tb == nil {
		return
	}
	bar := tb.bar
	if s.Done {
		bar.SetTotal(-1, true) // complete at the current count
	} else {
		bar.Abort(false)
	}
}

// Stop completes or aborts the remaining bars, waits for the last render and restores logging.
func (b *barProgress) Stop() {
	b.mu.Lock()
	for _, tb := range b.bars {
		if !tb.bar.Completed() && !tb.bar.Aborted() {
			tb.bar.Abort(false)
		}
	}
	b.mu.Unlock()
	// Restore logging first: writing to the container after Wait fails.
	b.app.logOut.set(b.prevLog)
	b.p.Wait()
	b.cancel()
}

// logProgress logs a line per active table every interval (the engine itself logs when a
// table starts and finishes).
type logProgress struct {
	log      *slog.Logger
	mu       sync.Mutex
	tables   map[actingweb.Table]*tableCount
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type tableCount struct {
	estimate int64
	rows     int64
	started  time.Time
	active   bool
}

func newLogProgress(log *slog.Logger, interval time.Duration) *logProgress {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	l := &logProgress{log: log, tables: map[actingweb.Table]*tableCount{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tk.C:
				l.tick()
			}
		}
	}()
	return l
}

func (l *logProgress) TableStarted(t actingweb.Table, estimate int64) {
	l.mu.Lock()
	l.tables[t] = &tableCount{estimate: estimate, started: time.Now(), active: true}
	l.mu.Unlock()
}

func (l *logProgress) Rows(t actingweb.Table, n int) {
	l.mu.Lock()
	if c := l.tables[t]; c != nil {
		c.rows += int64(n)
	}
	l.mu.Unlock()
}

func (l *logProgress) TableDone(t actingweb.Table, s migrate.TableSummary) {
	l.mu.Lock()
	if c := l.tables[t]; c != nil {
		c.active = false
	}
	l.mu.Unlock()
}

func (l *logProgress) tick() {
	type line struct {
		t    actingweb.Table
		c    tableCount
		rate float64
	}
	var lines []line
	l.mu.Lock()
	for t, c := range l.tables {
		if c.active {
			el := time.Since(c.started).Seconds()
			r := 0.0
			if el > 0 {
				r = float64(c.rows) / el
			}
			lines = append(lines, line{t, *c, r})
		}
	}
	l.mu.Unlock()
	for _, ln := range lines {
		attrs := []any{"table", string(ln.t), "rows", ln.c.rows, "rows_per_sec", int64(ln.rate)}
		if ln.c.estimate >= 0 {
			attrs = append(attrs, "estimate", ln.c.estimate)
			if ln.rate > 0 && ln.c.estimate > ln.c.rows {
				eta := time.Duration(float64(ln.c.estimate-ln.c.rows) / ln.rate * float64(time.Second))
				attrs = append(attrs, "eta", eta.Round(time.Second).String())
			}
		}
		l.log.Info("progress", attrs...)
	}
}

func (l *logProgress) Stop() {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
}
