package wire

import (
	"bytes"
	"strings"
	"testing"
)

func deviceSamples() map[string][]byte {
	must := func(b []byte, err error) []byte {
		if err != nil {
			panic(err)
		}
		return b
	}
	infos := []DeviceInfo{{ID: [16]byte{1}, Added: 1700000000000, Name: "phone", Platform: "android"}, {ID: [16]byte{2}}}
	return map[string][]byte{
		"linkcode": must((&LinkCode{Secret: [16]byte{9, 8}, Platform: "linux", Bundle: []byte("bundle")}).Marshal()),
		"link": must((&Link{Secret: [16]byte{7}, Part: 1, Parts: 3, Groups: 20, Devices: infos,
			Contacts: []LinkContact{{Added: true, DeviceList: []byte("card1")}, {DeviceList: []byte("c2")}}}).Marshal()),
		"devices": must((&Devices{GroupsNotified: true, Devices: infos}).Marshal()),
	}
}

var deviceCodecs = map[string]func([]byte) ([]byte, error){
	"linkcode": rt(ParseLinkCode),
	"link":     rt(ParseLink),
	"devices":  rt(ParseDevices),
}

func TestDeviceFormatsRoundTrip(t *testing.T) {
	s := deviceSamples()
	for name, round := range deviceCodecs {
		in := s[name]
		out, err := round(in)
		if err != nil || !bytes.Equal(in, out) {
			t.Fatalf("%s: round trip: %v\n in %x\nout %x", name, err, in, out)
		}
		for i := 0; i < len(in); i++ {
			if out, err := round(in[:i]); err == nil && !bytes.Equal(out, in[:i]) {
				t.Fatalf("%s: prefix %d decoded non-canonically", name, i)
			}
		}
		if _, err := round(append(bytes.Clone(in), 0)); err == nil {
			t.Fatalf("%s: trailing byte accepted", name)
		}
	}
}

func TestDeviceFormatsReject(t *testing.T) {
	if _, err := (&DeviceInfo{Name: strings.Repeat("x", MaxDeviceText+1)}).marshalForTest(); err == nil {
		t.Fatal("long device name encoded")
	}
	if _, err := (&Link{Parts: 1, Contacts: []LinkContact{{Added: true}}}).Marshal(); err == nil {
		t.Fatal("empty device list encoded")
	}
	if _, err := (&Link{Part: 1, Parts: 1}).Marshal(); err == nil {
		t.Fatal("part >= parts encoded")
	}
	// Invalid UTF-8 in a name.
	bad := deviceSamples()["devices"]
	i := bytes.Index(bad, []byte("phone"))
	bad = bytes.Clone(bad)
	bad[i] = 0xff
	if _, err := ParseDevices(bad); err == nil {
		t.Fatal("invalid UTF-8 name accepted")
	}
	// Non-canonical boolean flags.
	d := bytes.Clone(deviceSamples()["devices"])
	d[0] = 2
	if _, err := ParseDevices(d); err == nil {
		t.Fatal("flags 2 accepted")
	}
	// New pairwise types and the devices content type decode.
	pm, err := (&PairwiseMessage{Type: PairwiseDevices, Body: []byte{0}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePairwiseMessage(pm); err != nil {
		t.Fatal(err)
	}
	pt, _ := (&GroupPlaintext{Type: ContentDevices, Body: []byte("device list")}).Marshal()
	if _, err := ParseGroupPlaintext(pt); err != nil {
		t.Fatal(err)
	}
}

func (d *DeviceInfo) marshalForTest() ([]byte, error) {
	return (&Devices{Devices: []DeviceInfo{*d}}).Marshal()
}

func fuzzDevice(f *testing.F, name string) {
	round := deviceCodecs[name]
	f.Add(deviceSamples()[name])
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := round(in)
		if err != nil {
			return
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("%s: decode→encode differs\n in %x\nout %x", name, in, out)
		}
	})
}

func FuzzLinkCode(f *testing.F) { fuzzDevice(f, "linkcode") }
func FuzzLink(f *testing.F)     { fuzzDevice(f, "link") }
func FuzzDevices(f *testing.F)  { fuzzDevice(f, "devices") }
