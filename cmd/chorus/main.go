// Command chorus is the Chorus command-line tool: a chat client (a daemon with a local
// control socket, one-shot commands and an interactive terminal chat), the end-to-end
// demo on an embedded Waku network, and the conformance checks against Status
// membership vectors.
//
//	chorus init --data DIR [--import HEXKEY] [--name NAME]
//	chorus id                                  contact code, also as a QR code
//	chorus node [--listen ADDR] [--peer MULTIADDR]... [--store]
//	chorus contact add CODE|- [--name NAME] | contact list
//	chorus group create|add|remove|leave|rename|describe|list|members ...
//	chorus send GROUP TEXT | read GROUP [--follow]
//	chorus devices list|link|revoke
//	chorus chat GROUP                          interactive terminal chat
//	chorus status
//	chorus demo
//	chorus conformance status-membership DIR
//
// Every client command takes --data DIR (default $CHORUS_DATA, else ~/.chorus) and
// --json. Exit codes: 0 ok, 1 failure, 2 usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"syscall"
)

// command is one subcommand: it returns the process exit code
// (0 ok, 1 failure, 2 usage). Commands that need stdin or the terminal set runIO.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	runIO   func(ctx context.Context, io *stdio, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"conformance": {summary: "check Status membership vectors: conformance status-membership DIR", run: runConformance},
		"bench":       {summary: "bench scale [-n 10,100,400] [-large]: the scale simulation tables", run: runBench},
		"demo":        {summary: "run the narrated end-to-end scenario on an embedded Waku network", runIO: runDemo},
		"init":        {summary: "create (or --import) an account in a data directory", runIO: runInit},
		"id":          {summary: "show this account's contact code, also as a QR code", runIO: runID},
		"status":      {summary: "show the account, the node and its peers", runIO: runStatus},
		"node":        {summary: "run the client with its embedded Waku node and the control socket", runIO: runNode},
		"contact":     {summary: "contact add CODE|- [--name NAME] | contact name CONTACT NAME | contact list", runIO: runContact},
		"group":       {summary: "group create|add|remove|leave|rename|describe|list|members", runIO: runGroup},
		"send":        {summary: "send GROUP TEXT: send a message", runIO: runSend},
		"read":        {summary: "read GROUP [--limit N] [--follow]: show messages", runIO: runRead},
		"devices":     {summary: "devices list|link|revoke: this account's installations", runIO: runDevices},
		"chat":        {summary: "chat GROUP: interactive terminal chat", runIO: runChat},
		"rln":         {summary: "rln create [--members N] [--out DIR]: RLN credentials and group file for a local network", runIO: runRLN},
		"demo-rln":    {summary: "the narrated RLN scenario: quota, a queued burst, a publish without proof", runIO: runDemoRLN},
	}
}

func main() { os.Exit(mainCode()) }

// mainCode runs the process's command line and returns the exit code.
func mainCode() int {
	// Everything chorus creates (databases, keys, the socket) is owner-only.
	syscall.Umask(0o077)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runStdio(ctx, &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv, tty: os.Stdin}, os.Args[1:])
}

func runStdio(ctx context.Context, s *stdio, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := cmds[args[1]]; ok {
				// The command's own help: its summary, then its usage and flags.
				fmt.Fprintf(s.out, "chorus %s: %s\n\n", args[1], c.summary)
				help := append(slices.Clone(args[2:]), "-h")
				if c.runIO != nil {
					c.runIO(ctx, s, help)
				} else {
					c.run(ctx, help, s.out, s.out)
				}
				return 0
			}
			fmt.Fprintf(s.err, "chorus: unknown command %q\n", args[1])
			usage(s.err, cmds)
			return 2
		}
		usage(s.err, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(s.err, "chorus: unknown command %q\n", args[0])
		usage(s.err, cmds)
		return 2
	}
	if c.runIO != nil {
		return c.runIO(ctx, s, args[1:])
	}
	return c.run(ctx, args[1:], s.out, s.err)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: chorus <command> [arguments]   (chorus <command> -h for its flags)")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
}
