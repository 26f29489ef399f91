package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/rpc"
	"github.com/chorus-im/chorus/cmd/chorus/internal/tui"
)

// TestMain lets the test binary run as the chorus command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"chorus": func() { os.Exit(mainCode()) },
	})
}

// TestScripts runs testdata/script/*.txtar: real `chorus` processes (this test binary)
// talking to each other over Waku on loopback.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitnode":    cmdWaitNode,
			"waitpeers":   cmdWaitPeers,
			"waitwatch":   cmdWaitWatch,
			"waitgroup":   cmdWaitGroup,
			"waitcontact": cmdWaitContact,
			"waitlinked":  cmdWaitLinked,
			"waitmsg":     cmdWaitMsg,
			"chat":        cmdChat,
			"perm":        cmdPerm,
			"racecheck":   cmdRaceCheck,
		},
		Setup: func(env *testscript.Env) error {
			// Under -race the chorus processes report data races on stderr but keep their
			// exit code; racecheck then fails on any race that touches Chorus code (see
			// knownRace for the one go-waku race it tolerates).
			env.Setenv("GORACE", "exitcode=0")
			return nil
		},
	})
}

// racecheck: fail if the last command's stderr reports a data race in which a racing
// access runs Chorus code. Races entirely inside go-waku are logged, not failed: go-waku
// v0.10.3's peer manager calls checkAndUpdateTopicHealth from its event loop and its
// connectivity loop without a lock (peer_manager.go:155/157), which the race detector
// sometimes catches when a peer leaves. Reported to the transport owner; nothing in
// Chorus can lock go-waku's internals.
func cmdRaceCheck(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: racecheck")
	}
	for _, report := range raceReports(ts.ReadFile("stderr")) {
		if knownRace(report) {
			ts.Logf("tolerated go-waku data race:\n%s", report)
			continue
		}
		ts.Fatalf("data race:\n%s", report)
	}
}

// raceReports splits race detector output into reports.
func raceReports(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "WARNING: DATA RACE")
		if i < 0 {
			return out
		}
		s = s[i:]
		j := strings.Index(s, "==================")
		if j < 0 {
			j = len(s)
		}
		out = append(out, s[:j])
		s = s[j:]
	}
}

// knownRace reports whether both racing accesses of a report run only third-party code
// (the goroutine creation stacks below them may pass through Chorus).
func knownRace(report string) bool {
	accesses := report
	if i := strings.Index(report, "Goroutine "); i >= 0 {
		accesses = report[:i]
	}
	return !strings.Contains(accesses, "github.com/chorus-im/chorus/") && strings.Contains(accesses, "github.com/waku-org/go-waku/")
}

const scriptWait = 30 * time.Second

func client(ts *testscript.TestScript, dir string) rpc.Client {
	return rpc.Client{Path: filepath.Join(ts.MkAbs(dir), "chorus.sock")}
}

// poll calls f until it returns true or the wait ends.
func poll(ts *testscript.TestScript, what string, f func(ctx context.Context) (bool, string)) {
	deadline := time.Now().Add(scriptWait)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok, state := f(ctx)
		cancel()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("timed out waiting for %s (last: %s)", what, last)
}

// waitnode DIR VAR: wait for DIR's node to answer; set VAR to its Waku address.
func cmdWaitNode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitnode DIR VAR")
	}
	cl := client(ts, args[0])
	poll(ts, "the node of "+args[0], func(ctx context.Context) (bool, string) {
		var st app.StatusView
		if err := cl.Call(ctx, "status", nil, &st); err != nil {
			return false, err.Error()
		}
		if len(st.Addrs) == 0 {
			return false, "no address"
		}
		ts.Setenv(args[1], st.Addrs[0])
		return true, ""
	})
}

// waitpeers DIR N: wait until DIR's node has at least N relay peers.
func cmdWaitPeers(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitpeers DIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	cl := client(ts, args[0])
	poll(ts, fmt.Sprintf("%d peers on %s", n, args[0]), func(ctx context.Context) (bool, string) {
		var st app.StatusView
		if err := cl.Call(ctx, "status", nil, &st); err != nil {
			return false, err.Error()
		}
		return st.Peers >= n, fmt.Sprintf("%d peers", st.Peers)
	})
}

// waitwatch DIR N: wait until DIR's node has at least N open event streams.
func cmdWaitWatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitwatch DIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	cl := client(ts, args[0])
	poll(ts, fmt.Sprintf("%d watchers on %s", n, args[0]), func(ctx context.Context) (bool, string) {
		var st app.StatusView
		if err := cl.Call(ctx, "status", nil, &st); err != nil {
			return false, err.Error()
		}
		return st.Watchers >= n, fmt.Sprintf("%d watchers", st.Watchers)
	})
}

// waitlinked DIR: wait until DIR's node is linked to an account.
func cmdWaitLinked(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitlinked DIR")
	}
	cl := client(ts, args[0])
	poll(ts, args[0]+" linked", func(ctx context.Context) (bool, string) {
		var st app.StatusView
		if err := cl.Call(ctx, "status", nil, &st); err != nil {
			return false, err.Error()
		}
		return st.Account != "", "waiting"
	})
}

// waitgroup DIR NAME: wait until DIR's node has a group called NAME.
func cmdWaitGroup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitgroup DIR NAME")
	}
	cl := client(ts, args[0])
	poll(ts, "group "+args[1]+" on "+args[0], func(ctx context.Context) (bool, string) {
		var gs []app.GroupView
		if err := cl.Call(ctx, "group.list", nil, &gs); err != nil {
			return false, err.Error()
		}
		var names []string
		for _, g := range gs {
			if g.Name == args[1] {
				return true, ""
			}
			names = append(names, g.Name)
		}
		return false, fmt.Sprintf("groups %q", names)
	})
}

// waitcontact DIR NAME: wait until DIR's node knows a contact called NAME.
func cmdWaitContact(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitcontact DIR NAME")
	}
	cl := client(ts, args[0])
	poll(ts, "contact "+args[1]+" on "+args[0], func(ctx context.Context) (bool, string) {
		var cs []app.ContactView
		if err := cl.Call(ctx, "contact.list", nil, &cs); err != nil {
			return false, err.Error()
		}
		var names []string
		for _, c := range cs {
			if c.Name == args[1] {
				return true, ""
			}
			names = append(names, c.Name)
		}
		return false, fmt.Sprintf("contacts %q", names)
	})
}

// waitmsg DIR GROUP REGEXP: wait until a message line of GROUP on DIR matches.
func cmdWaitMsg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitmsg DIR GROUP REGEXP")
	}
	re, err := regexp.Compile(args[2])
	ts.Check(err)
	cl := client(ts, args[0])
	poll(ts, fmt.Sprintf("%q in %s on %s", args[2], args[1], args[0]), func(ctx context.Context) (bool, string) {
		var ms []app.MessageView
		if err := cl.Call(ctx, "read", app.ReadParams{Group: args[1]}, &ms); err != nil {
			return false, err.Error()
		}
		var lines []string
		for _, m := range ms {
			if re.MatchString(m.String()) {
				return true, ""
			}
			lines = append(lines, m.String())
		}
		return false, strings.Join(lines, " | ")
	})
}

// perm PATH MODE: the file's permission bits are exactly MODE (octal).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm PATH MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); uint64(got) != want {
		ts.Fatalf("%s: mode %o, want %o", args[0], got, want)
	}
}

// chat DIR GROUP TEXT SCREENFILE: run `chorus chat` on a virtual 90×20 terminal, wait
// for the group to show, type TEXT and Enter, wait until the screen shows it sent, save
// the screen text to SCREENFILE and quit with Ctrl-C.
func cmdChat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: chat DIR GROUP TEXT SCREENFILE")
	}
	bin, err := lookPath(ts, "chorus")
	ts.Check(err)
	const w, h = 90, 20
	cmd := exec.Command(bin, "chat", "--data", ts.MkAbs(args[0]), args[1], "--size", fmt.Sprintf("%dx%d", w, h))
	cmd.Dir = ts.MkAbs(".")
	vt := tui.NewVT(w, h)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = vt, &stderr
	in, err := cmd.StdinPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitScreen := func(want string) {
		deadline := time.After(scriptWait)
		for !strings.Contains(vt.Screen(), want) {
			select {
			case <-vt.Changed():
			case <-time.After(100 * time.Millisecond):
			case err := <-exited:
				ts.Fatalf("chat exited (%v) before showing %q; stderr: %s\nscreen:\n%s", err, want, stderr.String(), vt.Screen())
			case <-deadline:
				cmd.Process.Kill()
				ts.Fatalf("chat never showed %q; screen:\n%s", want, vt.Screen())
			}
		}
	}
	waitScreen("Members (")
	_, err = io.WriteString(in, args[2]+"\r")
	ts.Check(err)
	waitScreen("me: " + args[2] + " ✓")
	screen := vt.Screen()
	ts.Logf("chat screen:\n%s", screen)
	ts.Check(os.WriteFile(ts.MkAbs(args[3]), []byte(screen+"\n"), 0o600))
	_, err = io.WriteString(in, "\x03")
	ts.Check(err)
	select {
	case err := <-exited:
		if err != nil {
			ts.Fatalf("chat: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(scriptWait):
		cmd.Process.Kill()
		ts.Fatalf("chat did not quit on Ctrl-C")
	}
}

func lookPath(ts *testscript.TestScript, name string) (string, error) {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not in the script's PATH", name)
}

func TestRaceFilter(t *testing.T) {
	ours := "WARNING: DATA RACE\nRead at 0x1 by goroutine 5:\n  github.com/chorus-im/chorus/protocol.(*Client).Send()\n" +
		"Previous write at 0x1 by goroutine 6:\n  github.com/waku-org/go-waku/waku/v2/x()\nGoroutine 5 (running) created at:\n  main.main()\n=================="
	theirs := "WARNING: DATA RACE\nRead at 0x1 by goroutine 5:\n  github.com/waku-org/go-waku/waku/v2/peermanager.(*PeerManager).checkAndUpdateTopicHealth()\n" +
		"Previous write at 0x1 by goroutine 6:\n  github.com/waku-org/go-waku/waku/v2/peermanager.(*PeerManager).checkAndUpdateTopicHealth()\n" +
		"Goroutine 5 (running) created at:\n  github.com/chorus-im/chorus/transport/waku.New()\n=================="
	rs := raceReports("noise\n" + ours + "\n" + theirs + "\n")
	if len(rs) != 2 || knownRace(rs[0]) || !knownRace(rs[1]) {
		t.Fatalf("reports %d, known %v %v", len(rs), knownRace(rs[0]), knownRace(rs[1]))
	}
}
