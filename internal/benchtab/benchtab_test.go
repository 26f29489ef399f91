package benchtab

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
cpu: AMD EPYC
pkg: example.com/x/senderkeys
BenchmarkSeal/100B-2         	   10000	     30000 ns/op	   3.33 MB/s	     512 B/op	       6 allocs/op
BenchmarkFloor/Secp256k1Sign-2  	    2000	     25000 ns/op	     260 B/op	       5 allocs/op
BenchmarkFloor/ChaChaSeal/100B-2         	    2000	       250 ns/op	 392.52 MB/s	       0 B/op	       0 allocs/op
BenchmarkDerive-2   100  2000000 ns/op  35000 ns/event  10 B/op  1 allocs/op
PASS
`

func TestParseAndEvaluate(t *testing.T) {
	run, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if run.CPU != "AMD EPYC" || len(run.Packages) != 1 || len(run.Packages[0].Results) != 4 {
		t.Fatalf("parsed %+v", run)
	}
	targets, err := ParseTargets(strings.NewReader(`
# comment
Seal/100B <= 1.2 * (Floor/Secp256k1Sign + 2*Floor/ChaChaSeal/100B)
Derive:ns/event <= 1.3 * (Floor/Secp256k1Sign)
Seal/100B <= 20000 ns
Seal/100B <= 1.3 * Floor/Secp256k1Sign
Missing <= 1.0 * (Floor/Secp256k1Sign)
Derive:ns/event <= 0.5 * (Derive:ns/op)
Derive:ns/event <= 1.0 * (Derive:nothing)
`))
	if err != nil {
		t.Fatal(err)
	}
	checks := Evaluate(run.Packages[0], targets)
	if len(checks) != 7 {
		t.Fatalf("got %d checks", len(checks))
	}
	if c := checks[0]; !c.OK || c.Floor != 25500 {
		t.Errorf("relative target: %+v", c)
	}
	if c := checks[1]; c.OK || c.Measured != 35000 {
		t.Errorf("metric target: %+v", c)
	}
	if c := checks[2]; c.OK {
		t.Errorf("absolute target should fail: %+v", c)
	}
	if c := checks[3]; !c.OK || c.Floor != 25000 {
		t.Errorf("bare single term: %+v", c)
	}
	if c := checks[4]; c.Missing != "Missing" {
		t.Errorf("missing target: %+v", c)
	}
	if c := checks[5]; !c.OK || c.Floor != 2000000 {
		t.Errorf("a term naming a metric: %+v", c)
	}
	if c := checks[6]; c.Missing != "Derive:nothing" {
		t.Errorf("a term naming a missing metric: %+v", c)
	}
	var buf bytes.Buffer
	Write(&buf, run, map[string][]Target{"example.com/x/senderkeys": targets})
	out := buf.String()
	for _, want := range []string{"| Seal/100B | 30.0 µs |", "**over**", "not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParseTargetErrors(t *testing.T) {
	for _, bad := range []string{"Seal", "Seal <= x * (A)", "Seal <= 1.2 * A + B", "Seal <= 1.2 * (A + )"} {
		if _, err := ParseTargets(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}
