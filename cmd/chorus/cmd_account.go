package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/term"
	"rsc.io/qr/coding"

	"github.com/chorus-im/chorus"
	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
	"github.com/chorus-im/chorus/cmd/chorus/internal/node"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// logger returns the diagnostics logger: stderr with -v, else nothing (or warnings
// and errors only, for long-running commands).
func logger(s *stdio, c *common) *slog.Logger {
	if c.verbose {
		return slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// netFlags are the network settings of init, node and chat.
type netFlags struct {
	listen string
	peers  multiFlag
	store  bool
}

const initSynopsis = "init --data DIR [--import HEXKEY|- | --link] [--name NAME] [--device NAME] [--listen ADDR] [--peer MULTIADDR]... [--store]"

func runInit(ctx context.Context, s *stdio, args []string) int {
	var c common
	var nf netFlags
	var imp, name, device string
	var linkNew bool
	fs := newFlags("init")
	c.register(fs)
	fs.BoolVar(&linkNew, "link", false, "make this a new device of an existing account: prints a link code for 'chorus devices link' on a device of the account")
	fs.StringVar(&device, "device", "", "this device's `NAME`, shown in 'chorus devices list' (default: the host name)")
	fs.StringVar(&imp, "import", "", "import an existing account key: `HEXKEY` (a hex secp256k1 private key), or - to read it from stdin")
	fs.StringVar(&name, "name", "", "your `NAME`, used locally (chat, transcripts)")
	fs.StringVar(&nf.listen, "listen", "", "Waku listen address `HOST:PORT` remembered for 'chorus node'")
	fs.Var(&nf.peers, "peer", "Waku peer `MULTIADDR` remembered for 'chorus node' (repeatable)")
	fs.BoolVar(&nf.store, "store", false, "make 'chorus node' serve Waku store (history)")
	pos, err := parse(fs, args, s, initSynopsis)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("unexpected arguments %q (usage: chorus %s)", pos, initSynopsis))
	}
	for _, p := range nf.peers {
		if err := node.CheckPeer(p); err != nil {
			return fail(s, &c, usagef("%v", err))
		}
	}
	if linkNew && imp != "" {
		return fail(s, &c, usagef("--link and --import exclude each other: a linked device gets the account from another device"))
	}
	if device == "" {
		device, _ = os.Hostname()
	}
	var key *ecdsa.PrivateKey
	if imp != "" {
		if imp != "-" {
			warnArgvSecret(s, "account key", "chorus init --import -")
		}
		if imp == "-" {
			line, err := bufio.NewReader(s.in).ReadString('\n')
			if err != nil && line == "" {
				return fail(s, &c, usagef("--import -: no key on stdin"))
			}
			imp = line
		}
		k, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(imp), "0x"))
		if err != nil {
			return fail(s, &c, usagef("--import: not a hex secp256k1 private key (%v)", err))
		}
		key = k
	}
	d, err := c.dir(s)
	if err != nil {
		return fail(s, &c, err)
	}
	cfg := app.Config{Name: name, Listen: nf.listen, Peers: nf.peers, Store: nf.store}
	if linkNew {
		code, err := initLink(ctx, d, device, cfg)
		if err != nil {
			return fail(s, &c, err)
		}
		type result struct {
			LinkCode string `json:"link_code"`
			Data     string `json:"data"`
		}
		return emit(s, &c, result{code, string(d)}, func(w io.Writer) {
			fmt.Fprintf(w, "Created a new device waiting to be linked\n  data %s (owner-only)\n\n", d)
			printLinkCode(w, code)
			fmt.Fprintf(w, "\nNext: start it with `chorus node --data %s --peer MULTIADDR` and, on a device of your\n", d)
			fmt.Fprintln(w, "account (the one holding the account key), run `chorus devices link CODE --name NAME`.")
		})
	}
	info, err := initAccount(ctx, d, key, device, cfg)
	if err != nil {
		return fail(s, &c, err)
	}
	type result struct {
		Account      string `json:"account"`
		Installation string `json:"installation"`
		Data         string `json:"data"`
		Imported     bool   `json:"imported"`
	}
	return emit(s, &c, result{info.ID, info.Installation.String(), string(d), key != nil}, func(w io.Writer) {
		verb := "Created"
		if key != nil {
			verb = "Imported"
		}
		fmt.Fprintf(w, "%s account %s\n", verb, info.ID)
		fmt.Fprintf(w, "  installation %s (this device)\n", info.Installation)
		fmt.Fprintf(w, "  data         %s (owner-only)\n", d)
		fmt.Fprintf(w, "Next: `chorus id --data %s` shows your contact code; `chorus node --data %s` goes online.\n", d, d)
	})
}

// openNew creates the data directory and opens a new database in it.
func openNew(ctx context.Context, d app.Dir, device string) (*chorus.Client, *app.Lock, error) {
	if d.HasAccount() {
		return nil, nil, app.Errorf(app.CodeExists, "%s already holds an account (use another --data DIR)", d)
	}
	if _, err := d.Ensure(); err != nil {
		return nil, nil, err
	}
	lock, err := d.TryLock()
	if err != nil {
		return nil, nil, err
	}
	cl, err := chorus.Open(ctx, string(d), noNetwork{}, protocol.WithDevice(device, ""))
	if err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	return cl, lock, nil
}

// initLink makes the data directory a new installation waiting to be linked and
// returns its link code.
func initLink(ctx context.Context, d app.Dir, device string, cfg app.Config) (string, error) {
	cl, lock, err := openNew(ctx, d, device)
	if err != nil {
		return "", err
	}
	defer lock.Unlock()
	defer cl.Close()
	code, err := cl.LinkCode(ctx)
	if err != nil {
		return "", err
	}
	return code, d.SaveConfig(cfg)
}

// printLinkCode shows a link code and its QR code.
func printLinkCode(w io.Writer, code string) {
	fmt.Fprintln(w, "Link code (on a device of your account: `chorus devices link CODE`):")
	fmt.Fprintln(w, code)
	fmt.Fprintln(w)
	if err := drawQR(w, code, isTerminal(w)); err != nil {
		fmt.Fprintf(w, "(no QR code: %v)\n", err)
	}
}

// initAccount creates the data directory and the account.
func initAccount(ctx context.Context, d app.Dir, key *ecdsa.PrivateKey, device string, cfg app.Config) (protocol.AccountInfo, error) {
	cl, lock, err := openNew(ctx, d, device)
	if err != nil {
		return protocol.AccountInfo{}, err
	}
	defer lock.Unlock()
	defer cl.Close()
	var info protocol.AccountInfo
	if key != nil {
		info, err = cl.ImportAccount(ctx, key)
	} else {
		info, err = cl.CreateAccount(ctx)
	}
	if err != nil {
		return info, err
	}
	return info, d.SaveConfig(cfg)
}

// noNetwork is the transport of init: nothing is published.
type noNetwork struct{}

func (noNetwork) Publish(context.Context, string, []byte) ([32]byte, error) {
	return [32]byte{}, transport.ErrNoPeers
}
func (noNetwork) Subscribe(context.Context, []string) (<-chan transport.Envelope, error) {
	return nil, transport.ErrNoPeers
}
func (noNetwork) History(context.Context, []string, time.Time, time.Time) ([]transport.Envelope, error) {
	return nil, transport.ErrNoHistory
}

const idSynopsis = "id [--data DIR] [--code] [--no-qr] [--json]"

func runID(ctx context.Context, s *stdio, args []string) int {
	var c common
	var codeOnly, noQR bool
	fs := newFlags("id")
	c.register(fs)
	fs.BoolVar(&codeOnly, "code", false, "print only the contact code")
	fs.BoolVar(&noQR, "no-qr", false, "do not draw the QR code")
	pos, err := parse(fs, args, s, idSynopsis)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("unexpected arguments %q (usage: chorus %s)", pos, idSynopsis))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cl, err := connect(ctx, s, &c, "id")
	if err != nil {
		return fail(s, &c, err)
	}
	defer cl.Close()
	var v app.IDView
	if err := cl.Call(ctx, "id", nil, &v); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, v, func(w io.Writer) {
		if v.LinkCode != "" {
			if codeOnly {
				fmt.Fprintln(w, v.LinkCode)
				return
			}
			fmt.Fprintln(w, "This device is waiting to be linked to an account.")
			printLinkCode(w, v.LinkCode)
			return
		}
		if codeOnly {
			fmt.Fprintln(w, v.Code)
			return
		}
		name := display.Clean(v.Name)
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(w, "%s\n  account      %s\n  installation %s\n\n", name, v.Account, v.Installation)
		fmt.Fprintln(w, "Contact code (the other side runs `chorus contact add CODE`):")
		fmt.Fprintln(w, v.Code)
		if !noQR {
			fmt.Fprintln(w)
			if err := drawQR(w, v.Code, isTerminal(w)); err != nil {
				fmt.Fprintf(w, "(no QR code: %v)\n", err)
			} else if f, ok := w.(*os.File); ok && isTerminal(w) {
				if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols < qrWidth(v.Code) {
					fmt.Fprintf(w, "(the QR code is %d columns wide: widen the terminal to scan it)\n", qrWidth(v.Code))
				}
			}
		}
	})
}

// qrWidth is the number of columns drawQR uses for text.
func qrWidth(text string) int {
	code, err := encodeQR(text)
	if err != nil {
		return 0
	}
	return code.Size + 2*qrQuiet(code.Size)
}

// qrQuiet is the quiet zone around a QR code of size modules: 2, or 1 when 2 would
// make it wider than an 80-column terminal.
func qrQuiet(size int) int {
	if size+4 > 80 {
		return 1
	}
	return 2
}

// encodeQR encodes text at level L; a contact or link code in its QR form (app.QRForm:
// an alphanumeric prefix and a numeric body, so a contact code fits 80 columns).
func encodeQR(text string) (*coding.Code, error) {
	segs := []coding.Encoding{coding.String(text)}
	if p, d, ok := app.QRForm(text); ok {
		segs = []coding.Encoding{coding.Alpha(p), coding.Num(d)}
	}
	for v := coding.Version(coding.MinVersion); v <= coding.MaxVersion; v++ {
		bits := 0
		for _, s := range segs {
			bits += s.Bits(v)
		}
		if bits > v.DataBytes(coding.L)*8 {
			continue
		}
		plan, err := coding.NewPlan(v, coding.L, 0)
		if err != nil {
			return nil, err
		}
		return plan.Encode(segs...)
	}
	return nil, errors.New("text too long to encode as a QR code")
}

// drawQR draws text as a QR code with half-block characters: two modules per line,
// light modules drawn, dark ones blank, so it scans on a dark terminal background;
// with color it forces white on black.
func drawQR(w io.Writer, text string, color bool) error {
	code, err := encodeQR(text)
	if err != nil {
		return err
	}
	quiet := qrQuiet(code.Size)
	n := code.Size
	dark := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return false
		}
		return code.Black(x, y)
	}
	var b strings.Builder
	for y := -quiet; y < n+quiet; y += 2 {
		if color {
			b.WriteString("\033[97;40m")
		}
		for x := -quiet; x < n+quiet; x++ {
			top, bottom := !dark(x, y), !dark(x, y+1)
			if y+1 >= n+quiet {
				bottom = false
			}
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		if color {
			b.WriteString("\033[0m")
		}
		b.WriteString("\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

const statusSynopsis = "status [--data DIR] [--json]"

func runStatus(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("status")
	c.register(fs)
	pos, err := parse(fs, args, s, statusSynopsis)
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 0 {
		return fail(s, &c, usagef("unexpected arguments %q (usage: chorus %s)", pos, statusSynopsis))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cl, err := connect(ctx, s, &c, "status")
	if err != nil {
		return fail(s, &c, err)
	}
	defer cl.Close()
	var v app.StatusView
	if err := cl.Call(ctx, "status", nil, &v); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, v, func(w io.Writer) {
		name := display.Clean(v.Name)
		if name == "" {
			name = "(no name)"
		}
		if v.LinkCode != "" {
			fmt.Fprintf(w, "%s  waiting to be linked (chorus id shows the link code)\n", name)
		} else {
			fmt.Fprintf(w, "%s  %s\n", name, v.Account)
			fmt.Fprintf(w, "  installation %s\n", v.Installation)
			fmt.Fprintf(w, "  groups %d, contacts %d\n", v.Groups, v.Contacts)
		}
		if !v.Node {
			fmt.Fprintln(w, "  node: not running (start it with `chorus node`)")
			return
		}
		fmt.Fprintf(w, "  node: running, %d peer(s)\n", v.Peers)
		if q := v.Quota; q != nil {
			fmt.Fprintf(w, "  quota: %d of %d message(s) left in epoch %d (%s each), resets at %s; %d queued\n",
				q.Remaining, q.Limit, q.Epoch, time.Duration(q.EpochMillis)*time.Millisecond, q.ResetAt.Format(time.RFC3339Nano), q.Queued)
		}
		for _, a := range v.Addrs {
			fmt.Fprintf(w, "  address %s\n", a)
		}
	})
}
