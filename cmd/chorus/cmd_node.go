package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
	"github.com/chorus-im/chorus/cmd/chorus/internal/node"
	"github.com/chorus-im/chorus/protocol"
)

const nodeSynopsis = "node [--data DIR] [--listen HOST:PORT] [--peer MULTIADDR]... [--store] [--rln-credential FILE --rln-group FILE] [--quiet] [--json]"

// nodeFlags are the network flags of node and chat.
type nodeFlags struct {
	listen string
	peers  multiFlag
	store  bool
	sync   time.Duration
	// spread: burst spreading bound (protocol.WithBurstSpread)
	spread time.Duration
	// RLN credential and group files (chorus rln create)
	rlnCred, rlnGroup string
}

func (nf *nodeFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
	DurationVar(p *time.Duration, name string, value time.Duration, usage string)
}, vf func(name, usage string)) {
	fs.StringVar(&nf.listen, "listen", "", "Waku listen address `HOST:PORT` (default: remembered, else 127.0.0.1 and a random port)")
	vf("peer", "Waku peer `MULTIADDR` with /p2p/ID to dial (repeatable; remembered)")
	fs.BoolVar(&nf.store, "store", false, "serve Waku store (history) from DIR/waku-store.db (remembered)")
	fs.DurationVar(&nf.sync, "sync", 30*time.Second, "how often to fetch history and look for missing messages")
	fs.DurationVar(&nf.spread, "burst-spread", protocol.DefaultBurstSpread, "spread the publishes of a group creation or device change over random delays up to `D` each, so outsiders cannot tie them together (invitees see a new group up to D later; 0: at once)")
	fs.StringVar(&nf.rlnCred, "rln-credential", "", "RLN credential `FILE` (chorus rln create): publish with RLN proofs, one message per second (remembered; needs a build without -tags gowaku_no_rln)")
	fs.StringVar(&nf.rlnGroup, "rln-group", "", "RLN group `FILE` (chorus rln create): the members' commitments (remembered)")
}

// openNode opens the long-running client of node and chat, remembering new network
// flags in the config.
func openNode(ctx context.Context, s *stdio, c *common, nf *nodeFlags, log *slog.Logger) (*node.Node, error) {
	d, err := c.dir(s)
	if err != nil {
		return nil, err
	}
	for _, p := range nf.peers {
		if err := node.CheckPeer(p); err != nil {
			return nil, usagef("%v", err)
		}
	}
	if tightened, err := d.Ensure(); err != nil {
		return nil, err
	} else if tightened {
		fmt.Fprintf(s.err, "chorus: %s was readable by others: permissions set to 0700\n", d)
	}
	cfg, err := d.LoadConfig()
	if err != nil {
		return nil, err
	}
	changed := false
	if nf.listen != "" && nf.listen != cfg.Listen {
		cfg.Listen, changed = nf.listen, true
	}
	if len(nf.peers) > 0 {
		cfg.Peers, changed = nf.peers, true
	}
	if nf.store && !cfg.Store {
		cfg.Store, changed = true, true
	}
	if (nf.rlnCred == "") != (nf.rlnGroup == "") {
		return nil, usagef("--rln-credential and --rln-group go together")
	}
	if nf.rlnCred != "" {
		cred, err := filepath.Abs(nf.rlnCred)
		if err != nil {
			return nil, err
		}
		group, err := filepath.Abs(nf.rlnGroup)
		if err != nil {
			return nil, err
		}
		if cred != cfg.RLNCredential || group != cfg.RLNGroup {
			cfg.RLNCredential, cfg.RLNGroup, changed = cred, group, true
		}
	}
	if exposedStore(cfg.Listen, cfg.Store) {
		warnExposedStore(s, cfg.Listen)
	}
	if changed && d.HasAccount() {
		if err := d.SaveConfig(cfg); err != nil {
			return nil, err
		}
	}
	done := progress(s, "starting the Waku node")
	defer done()
	return node.Open(ctx, node.Options{Dir: d, Listen: cfg.Listen, Peers: cfg.Peers, Store: cfg.Store, Logger: log,
		ClientOptions: []protocol.Option{protocol.WithSyncInterval(nf.sync), protocol.WithBurstSpread(nf.spread)}})
}

func runNode(ctx context.Context, s *stdio, args []string) int {
	var c common
	var nf nodeFlags
	var quiet bool
	fs := newFlags("node")
	c.register(fs)
	nf.register(fs, func(name, usage string) { fs.Var(&nf.peers, name, usage) })
	fs.BoolVar(&quiet, "quiet", false, "do not print messages (decrypted) as they arrive: status lines only (e.g. when stdout goes to a log)")
	pos, err := parse(fs, args, s, nodeSynopsis)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("unexpected arguments %q (usage: chorus %s)", pos, nodeSynopsis))
	}
	log := logger(s, &c)
	if !c.verbose {
		log = slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	n, err := openNode(ctx, s, &c, &nf, log)
	if err != nil {
		return fail(s, &c, err)
	}
	defer n.Close()
	st, err := n.Service.Status(ctx)
	if err != nil {
		return fail(s, &c, err)
	}
	events, err := n.Service.Watch(ctx, "")
	if err != nil {
		return fail(s, &c, err)
	}
	if c.json {
		_ = json.NewEncoder(s.out).Encode(map[string]any{"node": st, "socket": n.Dir.Socket()})
	} else {
		name := st.Name
		if name == "" {
			name = "chorus"
		}
		if n.LinkCode != "" {
			fmt.Fprintf(s.out, "%s node running: waiting to be linked (link code: chorus id --data %s)\n", name, n.Dir)
		} else {
			fmt.Fprintf(s.out, "%s node running: account %s\n", name, app.ShortID(st.Account))
		}
		for _, a := range st.Addrs {
			fmt.Fprintf(s.out, "  waku   %s\n", a)
		}
		if n.Config.Store {
			fmt.Fprintln(s.out, "  store  serving history")
		}
		if q := st.Quota; q != nil {
			fmt.Fprintf(s.out, "  rln    %d message(s) per %s\n", q.Limit, time.Duration(q.EpochMillis)*time.Millisecond)
		}
		fmt.Fprintf(s.out, "  socket %s\n", n.Dir.Socket())
		fmt.Fprintln(s.out, "Other commands now use this node. Ctrl-C stops it.")
		if !quiet {
			fmt.Fprintln(s.out, "Messages are printed here as they arrive, decrypted (--quiet: not printed).")
		}
	}
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for ev := range events {
			if quiet && ev.Message != nil {
				continue
			}
			printEvent(s.out, &c, groupLabel(local{n: n}), ev)
		}
	}()
	err = n.Run(ctx, true)
	n.Close()
	<-printed
	if err != nil {
		return fail(s, &c, err)
	}
	if !c.json {
		fmt.Fprintln(s.out, "node stopped")
	}
	return exitOK
}

// printEvent prints an event as a log line (or a JSON line); label names groups.
func printEvent(w io.Writer, c *common, label func(id string) string, ev app.EventView) {
	if c.json {
		_ = json.NewEncoder(w).Encode(map[string]any{"event": ev})
		return
	}
	group := display.Clean(label(ev.Group))
	switch ev.Type {
	case app.EventMessage:
		if ev.Message.Kind == "membership" {
			return // reported by the membership event
		}
		fmt.Fprintf(w, "[%s] %s\n", group, ev.Message) // devices: "· alice linked a new device"
	case app.EventDelivery:
		switch {
		case ev.Status == "failed":
			fmt.Fprintf(w, "[%s] ✗ message %s… could not be published\n", group, ev.MessageID[:8])
		case ev.Status == "published" && ev.Message != nil && ev.Message.Kind != "membership" && ev.Message.Kind != "devices":
			fmt.Fprintf(w, "[%s] %s\n", group, ev.Message) // our own, sent from any command
		}
	case app.EventMissing:
		fmt.Fprintf(w, "[%s] ⚠ %s\n", group, display.Clean(ev.Text))
	default:
		if ev.Text != "" {
			fmt.Fprintf(w, "[%s] · %s\n", group, display.Clean(ev.Text))
		}
	}
}

// groupLabel names groups by their current name, else a short id.
func groupLabel(cl caller) func(id string) string {
	return func(id string) string {
		if id == "" {
			return "-"
		}
		var g app.GroupView
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cl.Call(ctx, "group.info", app.GroupParams{Group: id}, &g); err == nil && g.Name != "" {
			return g.Name
		}
		return id[:min(8, len(id))]
	}
}
