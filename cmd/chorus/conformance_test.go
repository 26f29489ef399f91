package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sampleDir = "../../spec/status-membership"
	extraDir  = "../../membership/testdata/status-extra"
)

func conformance(t *testing.T, dir string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runConformance(context.Background(), []string{"status-membership", dir}, &out, &errb)
	return code, out.String() + errb.String()
}

func TestConformanceSample(t *testing.T) {
	for _, dir := range []string{sampleDir, extraDir} {
		code, out := conformance(t, dir)
		if code != 0 || !strings.HasSuffix(out, " passed, 0 failed\n") {
			t.Fatalf("%s: exit %d\n%s", dir, code, out)
		}
	}
}

// mutate copies the first case of src with f applied into a fresh dir and runs the runner.
func mutate(t *testing.T, src string, f func(c map[string]any)) (int, string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	cases := doc["cases"].([]any)
	c := cases[0].(map[string]any)
	f(c)
	doc["cases"] = []any{c}
	b, _ := json.Marshal(doc)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return conformance(t, dir)
}

func step0(c map[string]any) map[string]any { return c["steps"].([]any)[0].(map[string]any) }

func TestConformanceDetectsDifferences(t *testing.T) {
	sample := filepath.Join(sampleDir, "valid_flows.json")
	extra := filepath.Join(extraDir, "extra_flows.json")
	tests := []struct {
		name, src, field string
		f                func(c map[string]any)
	}{
		{"name", sample, "group.state.name", func(c map[string]any) {
			step0(c)["group"].(map[string]any)["state"].(map[string]any)["name"] = "Other"
		}},
		{"members order", filepath.Join(sampleDir, "valid_flows.json"), "receiver_state_after.members", func(c map[string]any) {
			st := step0(c)["receiver_state_after"].(map[string]any)
			st["members"] = append(st["members"].([]any), "0x04ff")
		}},
		{"accepted", sample, "handler.accepted", func(c map[string]any) {
			step0(c)["handler"] = map[string]any{"accepted": false, "stage": "group_init"}
		}},
		{"event field", sample, "events[e1]", func(c map[string]any) {
			c["events"].([]any)[0].(map[string]any)["clock"] = 7
		}},
		{"message bytes", sample, "membership_update_message_hex", func(c map[string]any) {
			msg := c["messages"].([]any)[0].(map[string]any)
			msg["membership_update_message_hex"] = msg["membership_update_message_hex"].(string) + "2200"
		}},
		{"stage", extra, "handler.stage", func(c map[string]any) {
			step0(c)["handler"].(map[string]any)["stage"] = "group_init"
		}},
		{"error text", extra, "group.error", func(c map[string]any) {
			step0(c)["group"].(map[string]any)["error"] = "invalid event e3 from 0x04"
		}},
		{"failed event", extra, "group.failed_event_id", func(c map[string]any) {
			step0(c)["group"].(map[string]any)["failed_event_id"] = "e2"
		}},
		{"malformed hex", sample, "malformed case", func(c map[string]any) {
			c["messages"].([]any)[0].(map[string]any)["membership_update_message_hex"] = "zz"
		}},
		{"no steps", sample, "malformed case", func(c map[string]any) { c["steps"] = []any{} }},
		{"wrong types", sample, "malformed case", func(c map[string]any) { c["events"] = "nope" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := mutate(t, tc.src, tc.f)
			if code == 0 || !strings.Contains(out, tc.field) || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
				t.Fatalf("exit %d, want a failure naming %q:\n%s", code, tc.field, out)
			}
		})
	}
}

func TestConformanceMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.json"), []byte("{not json"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{"cases":[]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"cases":[null, 3, {"id":"x"}]}`), 0o644)
	code, out := conformance(t, dir)
	if code == 0 || !strings.HasSuffix(out, "0 passed, 5 failed\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if code, _ := conformance(t, t.TempDir()); code == 0 {
		t.Fatal("empty dir passed")
	}
	var out2, errb bytes.Buffer
	if code := runConformance(context.Background(), []string{"nope"}, &out2, &errb); code != 2 {
		t.Fatalf("usage exit %d", code)
	}
}

// TestConformanceVerbose: -v prints one line per case, passing ones included, saying
// what it checks (issue 18 item 12).
func TestConformanceVerbose(t *testing.T) {
	var out, errb bytes.Buffer
	code := runConformance(context.Background(), []string{"-v", "status-membership", sampleDir}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	oks := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "ok   ") && strings.Contains(l, "event(s)") {
			oks++
		}
	}
	if want := "15 passed, 0 failed"; lines[len(lines)-1] != want || oks != 15 {
		t.Fatalf("-v printed %d case lines:\n%s", oks, out.String())
	}
}
