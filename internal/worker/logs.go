package worker

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/run"
)

// Log shipping: lines are masked as they are produced, buffered per phase,
// and sent in batches — at most every flushEvery, or sooner when a batch
// grows past flushBytes.
const (
	flushEvery = 200 * time.Millisecond
	flushBytes = 64 << 10
)

type logSink struct {
	server Server
	job    run.Job
	mask   run.Masker

	mu      sync.Mutex
	phaseOf string
	buf     strings.Builder
	sendMu  sync.Mutex // keeps batches in order
	stop    chan struct{}
	done    chan struct{}
}

func newLogSink(s Server, job run.Job) *logSink {
	var secrets []string
	for _, v := range job.Env {
		if v.Secret {
			secrets = append(secrets, v.Value)
		}
	}
	secrets = append(secrets, job.StateToken)
	l := &logSink{server: s, job: job, mask: run.NewMasker(secrets), stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *logSink) loop() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.flush(context.Background())
		}
	}
}

// phase returns the line sink of a phase; lines of an earlier phase are
// sent first.
func (l *logSink) phase(name string) func(string) {
	return func(line string) {
		line = l.mask.Mask(line) + "\n"
		l.mu.Lock()
		if l.phaseOf != name && l.buf.Len() > 0 {
			l.mu.Unlock()
			l.flush(context.Background())
			l.mu.Lock()
		}
		l.phaseOf = name
		l.buf.WriteString(line)
		big := l.buf.Len() > flushBytes
		l.mu.Unlock()
		if big {
			l.flush(context.Background())
		}
	}
}

// note logs a line of Hoist's own in the phase being logged (the first
// phase of the job before any).
func (l *logSink) note(text string) {
	l.mu.Lock()
	phase := l.phaseOf
	l.mu.Unlock()
	if phase == "" {
		phase = "initializing"
		if l.job.Phase == run.PhaseApply {
			phase = "preparing_apply"
		}
	}
	l.phase(phase)("Hoist: " + text)
}

func (l *logSink) flush(ctx context.Context) {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.mu.Lock()
	text, phase := l.buf.String(), l.phaseOf
	l.buf.Reset()
	l.mu.Unlock()
	if text == "" {
		return
	}
	// A lost batch is not worth failing the run over; the server refuses
	// batches of runs the worker no longer holds.
	_ = l.server.AppendLog(ctx, l.job.RunID, l.job.LeaseID, phase, text)
}

func (l *logSink) close(ctx context.Context) {
	close(l.stop)
	<-l.done
	l.flush(ctx)
}
