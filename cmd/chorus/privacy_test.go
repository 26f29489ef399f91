package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/tui"
)

// initPair creates two accounts that added each other's contact codes (a calls b "bob",
// b calls a "alice").
func initPair(t *testing.T) (a, b string) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	codes := map[string]string{}
	for _, d := range []string{a, b} {
		if code, _, errs := runArgs(t, "", "init", "--data", d); code != 0 {
			t.Fatalf("init: %s", errs)
		}
		_, out, _ := runArgs(t, "", "id", "--data", d, "--code")
		codes[d] = strings.TrimSpace(out)
	}
	if code, _, errs := runArgs(t, codes[b], "contact", "add", "--data", a, "--name", "bob", "-"); code != 0 {
		t.Fatalf("contact add: %s", errs)
	}
	if code, _, errs := runArgs(t, codes[a], "contact", "add", "--data", b, "--name", "alice", "-"); code != 0 {
		t.Fatalf("contact add: %s", errs)
	}
	return a, b
}

// TestContactVerify: `chorus contact verify NAME` shows the same safety number on both
// sides, grouped for reading aloud, and --json carries it (issue 19 item 8).
func TestContactVerify(t *testing.T) {
	a, b := initPair(t)
	digits := regexp.MustCompile(`(?m)^\s*(\d{5} \d{5} \d{5} \d{5})$`)
	number := func(data, name string) string {
		t.Helper()
		code, out, errs := runArgs(t, "", "contact", "verify", "--data", data, name)
		if code != 0 {
			t.Fatalf("contact verify %s: %d %q", name, code, errs)
		}
		m := digits.FindAllStringSubmatch(out, -1)
		if len(m) != 3 || !strings.Contains(out, name) {
			t.Fatalf("contact verify %s printed %q", name, out)
		}
		return m[0][1] + m[1][1] + m[2][1]
	}
	if na, nb := number(a, "bob"), number(b, "alice"); na != nb {
		t.Fatalf("a shows %s, b shows %s", na, nb)
	}
	code, out, _ := runArgs(t, "", "contact", "verify", "--data", a, "bob", "--json")
	var v struct {
		Number string `json:"safety_number"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(v.Number) != 60 {
		t.Fatalf("--json: %d %q", code, out)
	}
	if code, _, _ := runArgs(t, "", "contact", "verify", "--data", a, "nobody"); code == 0 {
		t.Fatal("verify of an unknown contact succeeded")
	}
}

// evil is text a member controls (message, group name, description, notice): an OSC 52
// clipboard write, a screen clear, a bidi override, a C1 CSI, and a line break that
// would start a fake line.
const evil = "hi\x1b]52;c;ZXZpbA==\x07\x1b[2J\u202eevil\u009b31m\r\n10:00 bob: fake line"

// assertSafe fails if out holds a control (other than the newlines and tabs that lay
// the output out), a bidi control, or a line starting with the faked text.
func assertSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) {
			t.Fatalf("%s: output keeps %U: %q", what, r, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "10:00 bob: fake line") {
			t.Fatalf("%s: a text started its own line: %q", what, out)
		}
	}
}

// TestDisplayStripsControls: every text-mode output of untrusted text — message lines
// (read, node), node event lines, group descriptions, the chat screen, local lists —
// shows controls and bidi overrides as U+FFFD and line breaks as ⏎; --json keeps the
// stored text (issue 19 item 6).
func TestDisplayStripsControls(t *testing.T) {
	mv := app.MessageView{ID: "m1", SenderName: evil, Text: evil, Kind: "text", Status: "received"}
	assertSafe(t, "message line", mv.String()+"\n")

	var buf bytes.Buffer
	label := func(string) string { return evil }
	for _, ev := range []app.EventView{
		{Type: app.EventMessage, Group: "g", Message: &mv},
		{Type: app.EventMissing, Group: "g", Text: evil},
		{Type: app.EventMembership, Group: "g", Text: evil},
	} {
		buf.Reset()
		printEvent(&buf, &common{}, label, ev)
		assertSafe(t, "node event "+ev.Type, buf.String())
	}
	buf.Reset()
	printEvent(&buf, &common{json: true}, label, app.EventView{Type: app.EventMessage, Message: &mv})
	var decoded struct {
		Event app.EventView `json:"event"`
	}
	if json.Unmarshal(buf.Bytes(), &decoded) != nil || decoded.Event.Message.Text != evil {
		t.Fatalf("--json does not carry the stored text: %q", buf.String())
	}

	buf.Reset()
	printGroup(&buf, "Created", app.GroupView{Name: evil, Description: evil, Status: "active", Members: []app.MemberView{{Name: evil}}})
	assertSafe(t, "group", buf.String())

	m := tui.NewModel(app.GroupView{Name: evil, Description: evil, Status: "active", Members: []app.MemberView{{Name: evil}}}, 100, 20)
	m.Upsert(mv)
	m.Apply(app.EventView{Type: app.EventMembership, Text: evil})
	lines, _, _ := m.View()
	assertSafe(t, "chat screen", strings.Join(lines, "\n"))

	// Local lists: a contact named with controls.
	a, _ := initPair(t)
	c := filepath.Join(t.TempDir(), "c")
	if code, _, errs := runArgs(t, "", "init", "--data", c); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	_, ccode, _ := runArgs(t, "", "id", "--data", c, "--code")
	if code, _, errs := runArgs(t, strings.TrimSpace(ccode), "contact", "add", "--data", a, "--name", evil, "-"); code != 0 {
		t.Fatalf("contact add: %s", errs)
	}
	_, out, _ := runArgs(t, "", "contact", "list", "--data", a)
	assertSafe(t, "contact list", out)
}

// TestSecretsFromArgvWarn: an account key or link code given as an argument (visible in
// /proc/*/cmdline to every local user, kept in shell history) still works but warns and
// points to stdin; from stdin there is no warning (issue 19 item 7).
func TestSecretsFromArgvWarn(t *testing.T) {
	const key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	dir := t.TempDir()
	code, _, errs := runArgs(t, "", "init", "--data", filepath.Join(dir, "argv"), "--import", key)
	if code != 0 || !strings.Contains(errs, "warning") || !strings.Contains(errs, "--import -") {
		t.Fatalf("--import HEXKEY: %d, stderr %q", code, errs)
	}
	code, _, errs = runArgs(t, key+"\n", "init", "--data", filepath.Join(dir, "stdin"), "--import", "-")
	if code != 0 || strings.Contains(errs, "warning") {
		t.Fatalf("--import -: %d, stderr %q", code, errs)
	}
	_, errs2 := func() (int, string) {
		c, _, e := runArgs(t, "", "devices", "link", "--data", filepath.Join(dir, "argv"), "chorus-link1:AAAA")
		return c, e
	}()
	if !strings.Contains(errs2, "warning") || !strings.Contains(errs2, "devices link -") {
		t.Fatalf("devices link CODE: stderr %q", errs2)
	}
}

// TestStoreListenWarning: serving store on an address other hosts can reach is flagged.
func TestStoreListenWarning(t *testing.T) {
	for listen, want := range map[string]bool{
		"": false, "127.0.0.1:60000": false, "[::1]:1": false, "localhost:9": false,
		"0.0.0.0:60000": true, ":60000": true, "192.168.1.5:60000": true, "[::]:60000": true, "example.org:1": true,
	} {
		if got := exposedStore(listen, true); got != want {
			t.Errorf("exposedStore(%q, store) = %v, want %v", listen, got, want)
		}
		if exposedStore(listen, false) {
			t.Errorf("exposedStore(%q, no store) = true", listen)
		}
	}
}
