package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
)

func TestDecodeKeys(t *testing.T) {
	keys, rest := DecodeKeys([]byte("hé\r\x7f\x1b[A\x1b[B\x1b[5~\x1b[6~\x1b[3~\x1bOH\x03\x04\x15\x1b"))
	want := []Key{{KeyRune, 'h'}, {KeyRune, 'é'}, {Kind: KeyEnter}, {Kind: KeyBackspace}, {Kind: KeyUp}, {Kind: KeyDown},
		{Kind: KeyPgUp}, {Kind: KeyPgDn}, {Kind: KeyDelete}, {Kind: KeyHome}, {Kind: KeyCtrlC}, {Kind: KeyCtrlD}, {Kind: KeyCtrlU}, {Kind: KeyEsc}}
	if len(rest) != 0 || fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("keys %v rest %q\nwant %v", keys, rest, want)
	}
	// A multi-byte rune split across reads.
	b := []byte("✓")
	keys, rest = DecodeKeys(b[:1])
	if len(keys) != 0 || len(rest) != 1 {
		t.Fatalf("partial rune: %v %q", keys, rest)
	}
	keys, _ = DecodeKeys(append(rest, b[1:]...))
	if len(keys) != 1 || keys[0].Rune != '✓' {
		t.Fatalf("joined rune: %v", keys)
	}
	if keys, _ := DecodeKeys([]byte("\r\n")); len(keys) != 1 {
		t.Fatalf("CRLF is one Enter: %v", keys)
	}
}

func TestWrapAndFit(t *testing.T) {
	rows := wrap("09:00 bob: the quick brown fox jumps over the lazy dog", 20)
	for _, r := range rows {
		if width(r) > 20 {
			t.Fatalf("row %q wider than 20", r)
		}
	}
	if len(rows) < 3 || !strings.HasPrefix(rows[1], "      ") {
		t.Fatalf("rows %q", rows)
	}
	if got := fit("héllo", 3); got != "hé…" {
		t.Fatalf("fit %q", got)
	}
	if got := fit("ab", 4); got != "ab  " {
		t.Fatalf("pad %q", got)
	}
}

func TestViewIsExactlyTheScreen(t *testing.T) {
	g := app.GroupView{ID: "g", Name: strings.Repeat("long name ", 20), Status: "active",
		Members: []app.MemberView{{Name: "alice", Admin: true, Self: true}, {Name: "bob"}}}
	for _, sz := range []Size{{20, 7}, {59, 10}, {60, 12}, {132, 40}} {
		m := NewModel(g, sz.Width, sz.Height)
		for i := range 30 {
			m.Upsert(app.MessageView{ID: fmt.Sprint(i), Group: "g", SenderName: "bob", Kind: "text", Text: strings.Repeat("word ", i)})
		}
		lines, row, col := m.View()
		if len(lines) != sz.Height {
			t.Fatalf("%v: %d lines", sz, len(lines))
		}
		for i, l := range lines {
			if n := utf8.RuneCountInString(l); n != sz.Width {
				t.Fatalf("%v: line %d has %d cells: %q", sz, i, n, l)
			}
		}
		if row != sz.Height-1 || col != 2 {
			t.Fatalf("%v: cursor %d,%d", sz, row, col)
		}
	}
}

// fake is a Backend under the test's control.
type fake struct {
	mu      sync.Mutex
	group   app.GroupView
	msgs    []app.MessageView
	events  chan app.EventView
	sendErr error
	status  string // status of sent messages
	sent    []string
}

func (f *fake) Group(context.Context) (app.GroupView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.group, nil
}
func (f *fake) Messages(context.Context, int) ([]app.MessageView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]app.MessageView(nil), f.msgs...), nil
}
func (f *fake) Send(_ context.Context, text string) (app.MessageView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return app.MessageView{}, f.sendErr
	}
	f.sent = append(f.sent, text)
	return app.MessageView{ID: fmt.Sprintf("sent-%d", len(f.sent)), Group: "g1", SenderName: "alice", Outgoing: true,
		Status: f.status, Kind: "text", Text: text, Time: time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)}, nil
}
func (f *fake) Events(context.Context) (<-chan app.EventView, error) { return f.events, nil }
func (f *fake) Peers(context.Context) int                            { return 2 }

type screen struct {
	t  *testing.T
	vt *VT
}

func (s screen) waitFor(want ...string) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		text := s.vt.Screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(text, w)
		}
		if ok {
			return
		}
		select {
		case <-s.vt.Changed():
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("screen never showed %q:\n%s", want, text)
		}
	}
}

func (s screen) waitGone(text string) {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for strings.Contains(s.vt.Screen(), text) {
		select {
		case <-s.vt.Changed():
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("screen still shows %q:\n%s", text, s.vt.Screen())
		}
	}
}

func at(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.Local) }

// TestRunOnVirtualTerminal drives the chat with keys and engine events and checks the
// screen text at each step.
func TestRunOnVirtualTerminal(t *testing.T) {
	f := &fake{
		group: app.GroupView{ID: "g1", Name: "Trip", Description: "Saturday", Status: "active", Members: []app.MemberView{
			{ID: "a", Name: "alice", Admin: true, Self: true}, {ID: "b", Name: "bob"}, {ID: "c", Name: "carol"}}},
		msgs: []app.MessageView{
			{ID: "m0", Group: "g1", SenderName: "alice", Kind: "membership", Text: "added bob, carol", Status: "published", Outgoing: true, Time: at(8, 59)},
			{ID: "m1", Group: "g1", SenderName: "bob", Kind: "text", Text: "hello", Status: "received", Time: at(9, 0)},
			{ID: "m2", Group: "g1", SenderName: "alice", Outgoing: true, Kind: "text", Text: "hi", Status: "published", Time: at(9, 1)},
		},
		events: make(chan app.EventView, 16),
		status: "unpublished",
	}
	vt := NewVT(80, 16)
	in, keys := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), f, in, vt, Options{Size: Size{80, 16}}) }()
	s := screen{t, vt}
	s.waitFor("# Trip — Saturday", "3 members · 2 peers", "Members (3)", " * alice (you)", "   bob", "09:00 bob: hello", "09:01 me: hi ✓", Help)
	// Membership and device-list messages are notices saying what changed.
	s.waitFor("08:59 · you added bob, carol")
	f.events <- app.EventView{Type: app.EventMessage, Group: "g1", Message: &app.MessageView{ID: "d1", Group: "g1", SenderName: "bob", Kind: "devices", Text: "linked a new device", Status: "received", Time: at(9, 2)}}
	s.waitFor("09:02 · bob linked a new device")
	if strings.Contains(vt.Screen(), "cannot show") {
		t.Fatal("a device-list message shown as unknown content")
	}
	// Our own message sent from another terminal shows once it is published.
	f.events <- app.EventView{Type: app.EventDelivery, Group: "g1", MessageID: "o1", Status: "published", Message: &app.MessageView{
		ID: "o1", Group: "g1", SenderName: "alice", Outgoing: true, Kind: "text", Text: "from another terminal", Status: "published", Time: at(9, 3)}}
	s.waitFor("09:03 me: from another terminal ✓")

	// Typing sends; the delivery status follows the engine.
	io.WriteString(keys, "see you at 7\r")
	s.waitFor("10:00 me: see you at 7 …")
	f.events <- app.EventView{Type: app.EventDelivery, Group: "g1", MessageID: "sent-1", Status: "published"}
	s.waitFor("10:00 me: see you at 7 ✓")
	f.events <- app.EventView{Type: app.EventMessage, Group: "g1", Message: &app.MessageView{ID: "m3", Group: "g1", SenderName: "carol", Kind: "text", Text: "yo", Time: at(10, 1)}}
	s.waitFor("10:01 carol: yo")
	f.events <- app.EventView{Type: app.EventMessage, Group: "other", Message: &app.MessageView{ID: "x", Group: "other", SenderName: "zed", Kind: "text", Text: "elsewhere"}}
	f.events <- app.EventView{Type: app.EventDevices, Text: "your devices: linked laptop (0a1b2c3d)"}
	s.waitFor("· your devices: linked laptop")
	f.events <- app.EventView{Type: app.EventMissing, Group: "g1", Text: "1 message from bob missing and could not be fetched"}
	s.waitFor("! 1 message from bob missing")
	if strings.Contains(vt.Screen(), "elsewhere") {
		t.Fatal("a message of another group is shown")
	}

	// Editing keys.
	io.WriteString(keys, "helo\x1b[D\x1b[Dl\x1b[F!")
	s.waitFor("> hello!")
	io.WriteString(keys, "\x15")
	s.waitGone("hello!")

	// A failed send says so.
	f.mu.Lock()
	f.sendErr = errors.New("no peers reachable")
	f.mu.Unlock()
	io.WriteString(keys, "are you there?\r")
	s.waitFor("me: are you there? ✗ not sent", "✗ not sent: no peers reachable")

	// Scrolling.
	f.mu.Lock()
	f.sendErr = nil
	f.mu.Unlock()
	for i := range 15 {
		f.events <- app.EventView{Type: app.EventMessage, Group: "g1", Message: &app.MessageView{ID: fmt.Sprint("s", i), Group: "g1", SenderName: "bob", Kind: "text", Text: fmt.Sprint("line ", i), Time: at(11, i)}}
	}
	s.waitFor("bob: line 14")
	io.WriteString(keys, "\x1b[5~")
	s.waitFor("scrolled up")
	if strings.Contains(vt.Screen(), "bob: line 14") {
		t.Fatal("PgUp did not scroll")
	}
	io.WriteString(keys, "\x1b[6~")
	s.waitFor("bob: line 14", Help)

	// Removed from the group: the header says so and sending is refused locally.
	f.mu.Lock()
	f.group.Status = "removed"
	f.mu.Unlock()
	f.events <- app.EventView{Type: app.EventMembership, Group: "g1", Removed: true, Text: "removed alice; you are no longer a member"}
	s.waitFor("you are no longer a member", "· removed alice")
	io.WriteString(keys, "still here\r")
	s.waitFor("✗ not sent: you are no longer a member of this group")

	io.WriteString(keys, "\x03")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C did not quit")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.sent, "|") != "see you at 7" {
		t.Fatalf("sent %q", f.sent)
	}
}

// TestRunEndsAtEOFAfterSending: a scripted chat (keys from a file) sends and exits.
func TestRunEndsAtEOFAfterSending(t *testing.T) {
	f := &fake{group: app.GroupView{ID: "g1", Name: "T", Status: "active"}, events: make(chan app.EventView), status: "published"}
	err := Run(context.Background(), f, strings.NewReader("one\rtwo\r"), io.Discard, Options{})
	if err != nil || strings.Join(f.sent, ",") != "one,two" {
		t.Fatalf("err %v sent %q", err, f.sent)
	}
	// The node going away ends the chat with an error.
	f2 := &fake{group: f.group, events: make(chan app.EventView)}
	close(f2.events)
	pr, _ := io.Pipe()
	if err := Run(context.Background(), f2, pr, io.Discard, Options{}); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("disconnect: %v", err)
	}
}

func TestVT(t *testing.T) {
	v := NewVT(10, 3)
	io.WriteString(v, "\x1b[2;3Hab\x1b[1;1Hxyz\x1b[1;2H\x1b[K")
	if got := v.Lines(); got[0] != "x" || got[1] != "  ab" {
		t.Fatalf("%q", got)
	}
	// Sequences split across writes.
	io.WriteString(v, "\x1b[3")
	io.WriteString(v, ";1H✓"[:5])
	io.WriteString(v, ";1H✓"[5:])
	if got := v.Lines()[2]; got != "✓" {
		t.Fatalf("%q", got)
	}
}
