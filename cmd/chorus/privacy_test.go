package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
