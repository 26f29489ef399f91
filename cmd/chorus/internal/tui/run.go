package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
)

// Backend is what the chat needs: one group of a running client.
type Backend interface {
	Group(ctx context.Context) (app.GroupView, error)
	Messages(ctx context.Context, limit int) ([]app.MessageView, error)
	Send(ctx context.Context, text string) (app.MessageView, error)
	Events(ctx context.Context) (<-chan app.EventView, error)
	// Peers returns the number of Waku peers (-1: unknown).
	Peers(ctx context.Context) int
}

// Size is a terminal size in cells.
type Size struct{ Width, Height int }

// Options configure Run.
type Options struct {
	Size    Size
	Resize  <-chan Size // new sizes (SIGWINCH); may be nil
	History int         // messages loaded at start (default 500)
	Refresh time.Duration
}

// ErrDisconnected means the event stream ended (the node stopped).
var ErrDisconnected = errors.New("tui: the node stopped")

// Run runs the chat on a terminal: keys from in, ANSI output to out (alternate
// screen), until Ctrl-C/Ctrl-D, "/quit", ctx ending, or in reaching EOF (after the
// messages being sent are sent). in should be in raw mode if it is a terminal.
func Run(ctx context.Context, b Backend, in io.Reader, out io.Writer, o Options) error {
	if o.History <= 0 {
		o.History = 500
	}
	if o.Refresh <= 0 {
		o.Refresh = 2 * time.Second
	}
	if o.Size.Width <= 0 || o.Size.Height <= 0 {
		o.Size = Size{80, 24}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, err := b.Group(ctx)
	if err != nil {
		return err
	}
	events, err := b.Events(ctx)
	if err != nil {
		return err
	}
	msgs, err := b.Messages(ctx, o.History)
	if err != nil {
		return err
	}
	m := NewModel(g, o.Size.Width, o.Size.Height)
	m.Load(msgs)
	m.Peers = b.Peers(ctx)

	io.WriteString(out, "\x1b[?1049h\x1b[2J")
	defer io.WriteString(out, "\x1b[?25h\x1b[?1049l")
	draw := func() { io.WriteString(out, Frame(m)) }
	draw()

	keys := make(chan Key, 64)
	go readKeys(ctx, in, keys)
	type result struct {
		local int
		v     app.MessageView
		err   error
	}
	// One sender, in typing order.
	type job struct {
		local int
		text  string
	}
	jobs := make(chan job, 256)
	results := make(chan result, 256)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case j := <-jobs:
				v, err := b.Send(ctx, j.text)
				select {
				case results <- result{j.local, v, err}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	inflight := 0
	eof := false
	tick := time.NewTicker(o.Refresh)
	defer tick.Stop()
	var runErr error
	for !m.Quit() && !(eof && inflight == 0) {
		select {
		case <-ctx.Done():
			return nil
		case k, ok := <-keys:
			if !ok {
				eof, keys = true, nil
				continue
			}
			if text := m.Key(k); text != "" {
				local := m.Sending(text)
				select {
				case jobs <- job{local, text}:
					inflight++
				default:
					m.Sent(local, nil, errors.New("too many messages waiting to be sent"))
				}
			}
			if k.Kind == KeyCtrlL {
				io.WriteString(out, "\x1b[2J")
			}
		case r := <-results:
			inflight--
			if r.err != nil {
				m.Sent(r.local, nil, r.err)
			} else {
				m.Sent(r.local, &r.v, nil)
			}
		case ev, ok := <-events:
			if !ok {
				runErr = ErrDisconnected
				m.quit = true
				continue
			}
			if m.Apply(ev) {
				if g, err := b.Group(ctx); err == nil {
					m.Group = g
				}
			}
			if ev.Type == app.EventDropped {
				if msgs, err := b.Messages(ctx, o.History); err == nil {
					m.Load(msgs)
				}
			}
		case sz := <-o.Resize:
			m.Width, m.Height = sz.Width, sz.Height
			io.WriteString(out, "\x1b[2J")
		case <-tick.C:
			m.Peers = b.Peers(ctx)
		}
		draw()
	}
	return runErr
}

// readKeys decodes keys from in until EOF or an error, then closes keys.
func readKeys(ctx context.Context, in io.Reader, keys chan<- Key) {
	defer close(keys)
	buf := make([]byte, 1024)
	var rest []byte
	for {
		n, err := in.Read(buf)
		if n > 0 {
			var ks []Key
			ks, rest = DecodeKeys(append(rest, buf[:n]...))
			for _, k := range ks {
				select {
				case keys <- k:
				case <-ctx.Done():
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Frame renders the model as one full-screen ANSI frame: every row rewritten in place,
// the header in reverse video, the cursor left in the input line.
func Frame(m *Model) string {
	lines, row, col := m.View()
	var b strings.Builder
	b.WriteString("\x1b[?25l")
	for i, l := range lines {
		fmt.Fprintf(&b, "\x1b[%d;1H", i+1)
		if i == 0 {
			b.WriteString("\x1b[7m" + l + "\x1b[0m")
		} else {
			b.WriteString(l)
		}
	}
	fmt.Fprintf(&b, "\x1b[%d;%dH\x1b[?25h", row+1, col+1)
	return b.String()
}
