package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
)

func runArgs(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	s := &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: func(string) string { return "" }}
	code = runStdio(context.Background(), s, args)
	return code, out.String(), errb.String()
}

func TestParseIntersperses(t *testing.T) {
	var c common
	var name string
	fs := newFlags("x")
	c.register(fs)
	fs.StringVar(&name, "name", "", "")
	s := &stdio{out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	pos, err := parse(fs, []string{"team", "--json", "hello", "--name", "n", "world", "--", "--not-a-flag", "-x"}, s, "x")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"team", "hello", "world", "--not-a-flag", "-x"}; strings.Join(pos, "|") != strings.Join(want, "|") {
		t.Fatalf("positional %q, want %q", pos, want)
	}
	if !c.json || name != "n" {
		t.Fatalf("flags not parsed: json=%v name=%q", c.json, name)
	}
	if _, err := parse(newFlags("y"), []string{"--nope"}, s, "y"); err == nil {
		t.Fatal("unknown flag accepted")
	} else {
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Fatalf("unknown flag: %T, want a usage error", err)
		}
	}
	if _, err := parse(newFlags("z"), []string{"-h"}, s, "z"); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

func TestDataDirDefault(t *testing.T) {
	var c common
	s := &stdio{getenv: func(k string) string {
		if k == "CHORUS_DATA" {
			return "/tmp/from-env"
		}
		return ""
	}}
	d, err := c.dir(s)
	if err != nil || string(d) != "/tmp/from-env" {
		t.Fatalf("dir %q, %v", d, err)
	}
	c.data = "rel"
	d, _ = c.dir(s)
	if !filepath.IsAbs(string(d)) || filepath.Base(string(d)) != "rel" {
		t.Fatalf("--data rel gave %q", d)
	}
}

func TestParseSize(t *testing.T) {
	if sz, err := parseSize("100x30"); err != nil || sz.Width != 100 || sz.Height != 30 {
		t.Fatalf("100x30: %v %v", sz, err)
	}
	for _, bad := range []string{"", "80", "x24", "10x10", "80x3", "axb"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestExitCodes checks usage errors (2), failures (1) and their messages, on real data
// directories without any network.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	empty := filepath.Join(dir, "empty")
	if code, out, errs := runArgs(t, "", "init", "--data", a, "--name", "alice"); code != 0 || !strings.Contains(out, "Created account 0x04") {
		t.Fatalf("init: %d %q %q", code, out, errs)
	}
	fi, err := os.Stat(a)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, %v", fi.Mode().Perm(), err)
	}
	const key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string // in stderr
	}{
		{"no command", "", nil, 2, "usage: chorus"},
		{"unknown command", "", []string{"frob"}, 2, `unknown command "frob"`},
		{"group without subcommand", "", []string{"group"}, 2, "usage: chorus group create"},
		{"unknown group subcommand", "", []string{"group", "frob"}, 2, `unknown group command "frob"`},
		{"send without text", "", []string{"send", "--data", a, "team"}, 2, "usage: chorus send"},
		{"read extra args", "", []string{"read", "--data", a, "a", "b"}, 2, "usage: chorus read"},
		{"read negative limit", "", []string{"read", "--data", a, "team", "--limit", "-1"}, 2, "--limit"},
		{"unknown flag", "", []string{"id", "--data", a, "--frob"}, 2, "flag provided but not defined"},
		{"bad import key", "", []string{"init", "--data", filepath.Join(dir, "b"), "--import", "zz"}, 2, "--import"},
		{"bad peer", "", []string{"init", "--data", filepath.Join(dir, "c"), "--peer", "/ip4/1.2.3.4/tcp/1"}, 2, "bad peer address"},
		{"init twice", "", []string{"init", "--data", a}, 1, "already holds an account"},
		{"no account", "", []string{"id", "--data", empty}, 1, "no account"},
		{"bad contact code", "", []string{"contact", "add", "--data", a, "chorus1:AAAA"}, 1, "bad contact code"},
		{"not a contact code", "", []string{"contact", "add", "--data", a, "hello"}, 1, "bad contact code"},
		{"empty stdin code", "", []string{"contact", "add", "--data", a, "-"}, 2, "no contact code on stdin"},
		{"unknown group", "", []string{"read", "--data", a, "nope"}, 1, `unknown group "nope"`},
		{"unknown group members", "", []string{"group", "members", "--data", a, "nope"}, 1, "unknown group"},
		{"no peers for send", "", []string{"send", "--data", a, "team", "hi"}, 1, "no peers reachable"},
		{"no peers for create", "", []string{"group", "create", "--data", a, "team"}, 1, "no peers reachable"},
		{"devices link without code", "", []string{"devices", "link", "--data", a}, 2, "usage: chorus devices link"},
		{"devices link without peers", "", []string{"devices", "link", "--data", a, "chorus-link1:AAAA"}, 1, "no peers reachable"},
		{"devices revoke without id", "", []string{"devices", "revoke", "--data", a}, 2, "usage: chorus devices revoke"},
		{"devices frob", "", []string{"devices", "frob", "--data", a}, 2, `unknown devices command "frob"`},
		{"init link and import", "", []string{"init", "--data", filepath.Join(dir, "e"), "--link", "--import", key}, 2, "exclude each other"},
		{"chat without group", "", []string{"chat", "--data", a}, 2, "usage: chorus chat"},
		{"import from stdin", key + "\n", []string{"init", "--data", filepath.Join(dir, "d"), "--import", "-"}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runArgs(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q (stdout %q); want exit %d and %q", code, errs, out, tc.code, tc.want)
			}
		})
	}
}

func TestLocalCommandsWithoutNode(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if code, _, errs := runArgs(t, "", "init", "--data", d); code != 0 {
			t.Fatalf("init: %s", errs)
		}
	}
	code, out, errs := runArgs(t, "", "id", "--data", b, "--code")
	if code != 0 || !strings.HasPrefix(out, "chorus1:") {
		t.Fatalf("id --code: %d %q %q", code, out, errs)
	}
	bcode := strings.TrimSpace(out)
	if code, out, errs := runArgs(t, bcode, "contact", "add", "--data", a, "--name", "bob", "-", "--json"); code != 0 || !strings.Contains(out, `"name": "bob"`) {
		t.Fatalf("contact add: %d %q %q", code, out, errs)
	}
	if code, _, errs := runArgs(t, bcode, "contact", "add", "--data", a, "--name", "bob", "-"); code != 0 {
		t.Fatalf("adding the same contact again: %d %q", code, errs)
	}
	acode := func() string { _, o, _ := runArgs(t, "", "id", "--data", a, "--code"); return strings.TrimSpace(o) }()
	if code, _, errs := runArgs(t, acode, "contact", "add", "--data", a, "-"); code != 1 || !strings.Contains(errs, "your own contact code") {
		t.Fatalf("own code: %d %q", code, errs)
	}
	code, out, _ = runArgs(t, "", "contact", "list", "--data", a, "--json")
	var cs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != 1 || cs[0]["name"] != "bob" {
		t.Fatalf("contact list: %d %q", code, out)
	}
	code, out, _ = runArgs(t, "", "id", "--data", a)
	if code != 0 || !strings.Contains(out, "Contact code") || !strings.Contains(out, "█") {
		t.Fatalf("id with QR: %q", out)
	}
	code, out, _ = runArgs(t, "", "status", "--data", a)
	if code != 0 || !strings.Contains(out, "node: not running") {
		t.Fatalf("status: %q", out)
	}
	code, out, _ = runArgs(t, "", "devices", "list", "--data", a)
	if code != 0 || !strings.Contains(out, "(this device)") || !strings.Contains(out, "active") {
		t.Fatalf("devices list: %q", out)
	}
	// A new device waiting to be linked shows its link code.
	l := filepath.Join(dir, "l")
	code, out, errs = runArgs(t, "", "init", "--data", l, "--link", "--device", "laptop")
	if code != 0 || !strings.Contains(out, "chorus-link1:") {
		t.Fatalf("init --link: %d %q %q", code, out, errs)
	}
	code, out, _ = runArgs(t, "", "id", "--data", l, "--code")
	if code != 0 || !strings.HasPrefix(out, "chorus-link1:") {
		t.Fatalf("id of a device waiting to be linked: %q", out)
	}
	code, out, _ = runArgs(t, "", "status", "--data", l)
	if code != 0 || !strings.Contains(out, "waiting to be linked") {
		t.Fatalf("status of a device waiting to be linked: %q", out)
	}
	if code, _, errs := runArgs(t, "", "group", "list", "--data", l); code != 1 || !strings.Contains(errs, "waiting to be linked") {
		t.Fatalf("group list before linking: %d %q", code, errs)
	}
	code, out, _ = runArgs(t, "", "group", "list", "--data", a, "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("group list: %q", out)
	}
	code, out, errs = runArgs(t, "", "read", "--data", a, "nope", "--json")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &e) != nil || e.Error.Code != "unknown_group" {
		t.Fatalf("--json error: %d %q %q", code, out, errs)
	}
}

// TestFlagHelp: flag help names values, not words of the usage text (Go's flag package
// takes a back-quoted word as the value name), and `chorus help CMD` prints the
// command's full help (issue 18 item 8).
func TestFlagHelp(t *testing.T) {
	code, out, _ := runArgs(t, "", "init", "-h")
	if code != 0 {
		t.Fatalf("init -h: exit %d", code)
	}
	for _, want := range []string{"-device NAME", "-listen HOST:PORT", "-peer MULTIADDR", "-data DIR", "-import HEXKEY", "-name NAME"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("init -h lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "-device chorus") || strings.Contains(out, "-listen chorus") || strings.Contains(out, "`") {
		t.Errorf("init -h garbled:\n%s", out)
	}
	code, help, _ := runArgs(t, "", "help", "init")
	if code != 0 || !strings.Contains(help, "chorus init: ") || !strings.Contains(help, out) {
		t.Errorf("help init (exit %d) is not the full help:\n%s", code, help)
	}
	for _, cmd := range []string{"node", "chat", "send", "read", "id", "status", "demo"} {
		_, out, _ := runArgs(t, "", cmd, "-h")
		if strings.Contains(out, "`") || strings.Contains(out, " chorus\n") {
			t.Errorf("%s -h garbled:\n%s", cmd, out)
		}
	}
	if code, _, _ := runArgs(t, "", "help", "nope"); code != exitUsage {
		t.Errorf("help nope: exit %d", code)
	}
}

// TestQRFits80Columns: the contact code's QR code fits an 80-column terminal (issue 18
// item 12), and the text a scanner reads from it (the QR form) is accepted by contact add.
func TestQRFits80Columns(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"alice", "bob"} {
		if code, _, errs := runArgs(t, "", "init", "--data", filepath.Join(dir, n), "--name", n); code != 0 {
			t.Fatalf("init %s: %s", n, errs)
		}
	}
	code, out, errs := runArgs(t, "", "id", "--data", filepath.Join(dir, "alice"))
	if code != 0 {
		t.Fatalf("id: %s", errs)
	}
	rows := 0
	for _, l := range strings.Split(out, "\n") {
		if !strings.ContainsAny(l, "█▀▄") {
			continue
		}
		rows++
		if n := len([]rune(l)); n > 80 {
			t.Fatalf("QR line of %d columns:\n%s", n, out)
		}
	}
	if rows < 20 {
		t.Fatalf("no QR code drawn:\n%s", out)
	}
	_, text, _ := runArgs(t, "", "id", "--data", filepath.Join(dir, "alice"), "--code")
	p, d, ok := app.QRForm(strings.TrimSpace(text))
	if !ok {
		t.Fatalf("no QR form for %q", text)
	}
	if code, out, errs := runArgs(t, p+d+"\n", "contact", "add", "--data", filepath.Join(dir, "bob"), "--name", "alice", "-"); code != 0 || !strings.Contains(out, "Added contact alice") {
		t.Fatalf("contact add of the QR form: exit %d %s %s", code, out, errs)
	}
}
