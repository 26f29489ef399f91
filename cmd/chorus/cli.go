package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
	"github.com/chorus-im/chorus/cmd/chorus/internal/node"
	"github.com/chorus-im/chorus/cmd/chorus/internal/rpc"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// stdio is a command's environment.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
	tty      *os.File // the controlling terminal for chat (nil: none)
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// common are the flags every client command takes.
type common struct {
	data    string
	json    bool
	timeout time.Duration
	verbose bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "", "`DIR`: the data directory (default $CHORUS_DATA, else ~/.chorus)")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
	fs.DurationVar(&c.timeout, "timeout", 60*time.Second, "give up after this long")
	fs.BoolVar(&c.verbose, "v", false, "log engine and network diagnostics to stderr")
}

// dir resolves the data directory.
func (c *common) dir(s *stdio) (app.Dir, error) {
	d := c.data
	if d == "" {
		d = s.getenv("CHORUS_DATA")
	}
	if d == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", usagef("no --data DIR and no home directory")
		}
		d = filepath.Join(home, ".chorus")
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	return app.Dir(abs), nil
}

// newFlags returns a flag set whose errors go nowhere (parse reports them).
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags placed anywhere among the arguments ("--" ends flags) and returns
// the positional arguments. -h prints the flags and returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string, s *stdio, synopsis string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(s.out, "usage: chorus %s\n", synopsis)
				fs.SetOutput(s.out)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usagef("%v (usage: chorus %s)", err, synopsis)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// fail prints err and returns its exit code.
func fail(s *stdio, c *common, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(s.err, "chorus: %s\n", display.Clean(ue.msg))
		return exitUsage
	}
	e := app.Classify(err)
	if errors.Is(err, node.ErrNoAccount) {
		e = &app.Error{Code: app.CodeNoAccount, Message: err.Error()}
	}
	if errors.Is(err, app.ErrLocked) {
		e = &app.Error{Code: app.CodeInternal, Message: "the data directory is in use by another chorus process (a node or chat starting or stopping?)"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		e = &app.Error{Code: app.CodeInternal, Message: "timed out (--timeout)"}
	}
	if c != nil && c.json {
		_ = json.NewEncoder(s.out).Encode(map[string]any{"error": e})
	}
	fmt.Fprintf(s.err, "chorus: %s\n", display.Clean(e.Message))
	if e.Code == app.CodeUsage {
		return exitUsage
	}
	return exitFailure
}

// emit prints v as JSON (with --json) or calls text.
func emit(s *stdio, c *common, v any, text func(w io.Writer)) int {
	if c.json {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fail(s, c, err)
		}
		return exitOK
	}
	text(s.out)
	return exitOK
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress shows label on stderr if the operation is still running after a second: a
// spinner on a terminal, one line otherwise. done clears it.
func progress(s *stdio, label string) (done func()) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now().Add(-time.Second)
		if !isTerminal(s.err) {
			fmt.Fprintf(s.err, "%s…\n", label)
			<-stop
			return
		}
		spin := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(s.err, "\r%c %s… %.0fs", spin[i%len(spin)], label, time.Since(start).Seconds())
			select {
			case <-stop:
				fmt.Fprint(s.err, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop); wg.Wait() }) }
}

// caller runs service methods on a running node or on the data directory directly.
type caller interface {
	Call(ctx context.Context, method string, params, out any) error
	Watch(ctx context.Context, group string) (<-chan app.EventView, error)
	Close()
}

type remote struct{ rpc.Client }

func (remote) Close() {}

// local runs the service in this process on an opened node.
type local struct {
	n *node.Node
	s *stdio // nil: no progress or warnings
}

func (l local) Call(ctx context.Context, method string, params, out any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	res, err := l.n.Service.Dispatch(ctx, method, raw)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func (l local) Watch(ctx context.Context, group string) (<-chan app.EventView, error) {
	return l.n.Service.Watch(ctx, group)
}

// Close waits until what a short-lived node published has left it, then closes it.
func (l local) Close() {
	if l.s != nil && l.n.Waku != nil {
		done := progress(l.s, "waiting for the network to confirm")
		unconfirmed := l.n.Flush(context.Background())
		done()
		if unconfirmed > 0 {
			fmt.Fprintf(l.s.err, "chorus: warning: %d publish(es) not confirmed by a store peer within %v; they may not have reached the network\n", unconfirmed, node.FlushWait)
		}
	}
	l.n.Close()
}

// connect returns a caller for method: the running node's socket if one answers,
// otherwise the data directory opened in this process — without network for local
// methods, with a short-lived Waku node (the configured peers) for methods that publish.
func connect(ctx context.Context, s *stdio, c *common, method string) (caller, error) {
	d, err := c.dir(s)
	if err != nil {
		return nil, err
	}
	cl := rpc.Client{Path: d.Socket()}
	if cl.Running(ctx) {
		return remote{cl}, nil
	}
	if !d.HasAccount() {
		return nil, fmt.Errorf("%w in %s: run `chorus init --data %s` first", node.ErrNoAccount, d, d)
	}
	netw := app.NeedsNetwork(method)
	if netw {
		cfg, err := d.LoadConfig()
		if err != nil {
			return nil, err
		}
		if len(cfg.Peers) == 0 {
			return nil, app.Errorf(app.CodeNoPeers, "no peers reachable: no node is running for %s and no peers are configured (start `chorus node --data %s --peer MULTIADDR`; a running node keeps what you send and publishes it when a peer connects)", d, d)
		}
	}
	done := func() {}
	if netw {
		done = progress(s, "no node running: connecting to the configured peers")
	}
	n, err := node.Open(ctx, node.Options{Dir: d, Offline: !netw, Ephemeral: true, Logger: logger(s, c)})
	done()
	if err != nil {
		return nil, err
	}
	return local{n, s}, nil
}
