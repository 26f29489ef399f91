// Package demo is the narrated end-to-end scenario of `chorus demo` (and its test): an
// embedded Waku network of go-waku relay nodes on 127.0.0.1 (one serving store), one
// device per installation with its own sqlite database and its own embedded relay node,
// and the story of a group chat — a second device linked, contacts, a named and described
// group, talk, a member added, a member removed (and shown unable to read), a lost device
// revoked (and shown unable to read), a member catching up after being offline and told
// about a message that cannot be recovered. Every expectation is checked; publishes and
// bytes are counted by wrapping each device's transport.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/waku"
)

// Options configure Run.
type Options struct {
	Out    io.Writer     // the transcript (nil: discarded)
	Dir    string        // where the databases go ("": a temporary directory, removed after)
	Logger *slog.Logger  // engine and network diagnostics (nil: discarded)
	Wait   time.Duration // how long to wait for each expected event (default 15s)
}

// story is one run of the scenario.
type story struct {
	o     Options
	out   io.Writer
	start time.Time
	res   *Result
	step  string
	dir   string

	relays []*waku.Node
	alice  *device // Alice's phone: holds the account key
	laptop *device // Alice's laptop: linked to her account, later lost and revoked
	bob    *device
	carol  *device
	dave   *device

	group protocol.GroupID
	topic string

	sent []sent
	// daveJoined is len(sent) when Dave joined.
	daveJoined int

	tally tally // the measurements for the summary (tally.go)
}

// sent is a message and who must (and must not) receive it.
type sent struct {
	id   protocol.MessageID
	from *device
	to   []*device
}

// Run runs the scenario and returns its checks and summary. The error is for failures
// to set up (ports, files); a scenario whose expectations fail returns a Result that is
// not OK.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Wait <= 0 {
		o.Wait = 15 * time.Second
	}
	s := &story{o: o, out: o.Out, start: time.Now(), res: &Result{}}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "chorus-demo-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		s.dir = d
	} else {
		s.dir = o.Dir
	}
	defer s.shutdown()
	err := s.run(ctx)
	s.res.Elapsed = time.Since(s.start)
	s.summary()
	s.res.printSummary(s.out)
	return s.res, err
}

func (s *story) run(ctx context.Context) error {
	fmt.Fprintln(s.out, "Chorus demo — end-to-end encrypted group chat over an embedded Waku network")
	fmt.Fprintln(s.out, strings.Repeat("═", 78))
	steps := []struct {
		title string
		fn    func(context.Context) error
	}{
		{"Network", s.network},
		{"Accounts and devices", s.accounts},
		{"Contact codes", s.contacts},
		{"A group with a name and a description", s.createGroup},
		{"Everyone talks", s.talk},
		{"Dave is added and reads from then on", s.addDave},
		{"Carol is removed and cannot read what follows", s.removeCarol},
		{"Alice revokes a lost device", s.revokeLostDevice},
		{"Dave was offline: he catches up and is told what is lost", s.catchUp},
		{"Every message reached every member exactly once", s.exactlyOnce},
	}
	for i, st := range steps {
		s.step = fmt.Sprintf("%d", i+1)
		fmt.Fprintf(s.out, "\n[%5.1fs] %d. %s\n", time.Since(s.start).Seconds(), i+1, st.title)
		if err := st.fn(ctx); err != nil {
			s.check(false, st.title, "%v", err)
			return nil // later steps depend on this one
		}
	}
	return nil
}

// --- narration helpers

func (s *story) say(format string, args ...any) {
	fmt.Fprintf(s.out, "         "+format+"\n", args...)
}

func (s *story) check(ok bool, what, detailFormat string, args ...any) bool {
	detail := fmt.Sprintf(detailFormat, args...)
	s.res.Checks = append(s.res.Checks, Check{Step: s.step, What: what, OK: ok, Detail: detail})
	mark := "✓"
	if !ok {
		mark = "✗"
	}
	line := what
	if detail != "" {
		line += " (" + detail + ")"
	}
	fmt.Fprintf(s.out, "         %s %s\n", mark, line)
	return ok
}

// wait waits until d's events satisfy cond (or the wait ends).
func (s *story) wait(ctx context.Context, d *device, cond chorustest.Predicate) bool {
	return d.Events.Await(ctx, s.o.Wait, cond)
}

// --- steps: steps_setup.go (network, accounts, link, contacts), steps_group.go (create,
// talk, add, remove, revoke), steps_catchup.go (offline catch-up, exactly once)

// waitUntil polls cond until it holds or the wait ends.
func (s *story) waitUntil(ctx context.Context, cond condition) bool {
	return chorustest.Poll(ctx, s.o.Wait, cond)
}

func (s *story) shutdown() {
	for _, d := range s.devices() {
		d.shutdown()
	}
	for _, r := range s.relays {
		r.Close()
	}
}

func (s *story) summary() {
	s.res.Summary = append(s.res.Summary, s.tally.summary()...)
}
