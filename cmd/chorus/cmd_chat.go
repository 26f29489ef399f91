package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/rpc"
	"github.com/chorus-im/chorus/cmd/chorus/internal/tui"
)

const chatSynopsis = "chat GROUP [--data DIR] [--listen ADDR] [--peer MULTIADDR]... [--size COLSxROWS]"

// chatBackend adapts a caller to the TUI.
type chatBackend struct {
	cl    caller
	group string // group id
}

func (b chatBackend) Group(ctx context.Context) (app.GroupView, error) {
	var g app.GroupView
	err := b.cl.Call(ctx, "group.info", app.GroupParams{Group: b.group}, &g)
	return g, err
}

func (b chatBackend) Messages(ctx context.Context, limit int) ([]app.MessageView, error) {
	var ms []app.MessageView
	err := b.cl.Call(ctx, "read", app.ReadParams{Group: b.group, Limit: limit}, &ms)
	return ms, err
}

func (b chatBackend) Send(ctx context.Context, text string) (app.MessageView, error) {
	var m app.MessageView
	err := b.cl.Call(ctx, "send", app.SendParams{Group: b.group, Text: text}, &m)
	return m, err
}

func (b chatBackend) Events(ctx context.Context) (<-chan app.EventView, error) {
	return b.cl.Watch(ctx, b.group)
}

func (b chatBackend) Peers(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var st app.StatusView
	if err := b.cl.Call(ctx, "status", nil, &st); err != nil {
		return -1
	}
	return st.Peers
}

func parseSize(s string) (tui.Size, error) {
	w, h, ok := strings.Cut(s, "x")
	cw, err1 := strconv.Atoi(w)
	ch, err2 := strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil || cw < 20 || ch < 7 {
		return tui.Size{}, usagef("--size: want COLSxROWS, at least 20x7 (got %q)", s)
	}
	return tui.Size{Width: cw, Height: ch}, nil
}

func runChat(ctx context.Context, s *stdio, args []string) int {
	var c common
	var nf nodeFlags
	var size string
	fs := newFlags("chat")
	c.register(fs)
	nf.register(fs, func(name, usage string) { fs.Var(&nf.peers, name, usage) })
	fs.StringVar(&size, "size", "", "screen size `COLSxROWS` when not on a terminal (default: the terminal's, else $COLUMNS x $LINES, else 80x24)")
	pos, err := parse(fs, args, s, chatSynopsis)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus %s", chatSynopsis))
	}
	sz := tui.Size{Width: 80, Height: 24}
	if cols, err := strconv.Atoi(s.getenv("COLUMNS")); err == nil && cols >= 20 {
		sz.Width = cols
	}
	if rows, err := strconv.Atoi(s.getenv("LINES")); err == nil && rows >= 7 {
		sz.Height = rows
	}
	if size != "" {
		if sz, err = parseSize(size); err != nil {
			return fail(s, &c, err)
		}
	}

	// A running node serves the chat; otherwise the chat runs the client itself (and
	// serves the socket meanwhile, so other commands work).
	d, err := c.dir(s)
	if err != nil {
		return fail(s, &c, err)
	}
	var cl caller
	runErr := make(chan error, 1)
	if rc := (rpc.Client{Path: d.Socket()}); rc.Running(ctx) {
		cl = remote{rc}
	} else {
		n, err := openNode(ctx, s, &c, &nf, logger(s, &c))
		if err != nil {
			return fail(s, &c, err)
		}
		defer n.Close()
		nctx, stop := context.WithCancel(ctx)
		defer func() { stop(); <-runErr }()
		go func() { runErr <- n.Run(nctx, true) }()
		cl = local{n: n}
	}
	var g app.GroupView
	if err := cl.Call(ctx, "group.info", app.GroupParams{Group: pos[0]}, &g); err != nil {
		return fail(s, &c, err)
	}

	in := s.in
	opts := tui.Options{Size: sz}
	if s.tty != nil && term.IsTerminal(int(s.tty.Fd())) && isTerminal(s.out) {
		fd := int(s.tty.Fd())
		old, err := term.MakeRaw(fd)
		if err != nil {
			return fail(s, &c, fmt.Errorf("terminal: %w", err))
		}
		defer term.Restore(fd, old)
		if w, h, err := term.GetSize(fd); err == nil {
			opts.Size = tui.Size{Width: w, Height: h}
		}
		resize := make(chan tui.Size, 1)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if w, h, err := term.GetSize(fd); err == nil {
					select {
					case resize <- tui.Size{Width: w, Height: h}:
					default:
					}
				}
			}
		}()
		opts.Resize = resize
		in = s.tty
	}
	err = tui.Run(ctx, chatBackend{cl: cl, group: g.ID}, in, s.out, opts)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fail(s, &c, err)
	}
	return exitOK
}
