package main

import (
	"fmt"
	"net"
)

// warnArgvSecret warns that a secret given as an argument is visible to other local
// users (/proc/*/cmdline, ps) and stays in the shell history. Arguments keep working
// (scripts), but "-" reads the secret from stdin: `chorus init --import - < keyfile`.
func warnArgvSecret(s *stdio, what, stdinForm string) {
	fmt.Fprintf(s.err, "chorus: warning: the %s on the command line is visible to other users of this machine "+
		"(process list) and stays in your shell history; use `%s` and give it on stdin\n", what, stdinForm)
}

// exposedStore reports whether a node serving Waku store listens on an address other
// hosts can reach: anyone reaching it can then query the history it keeps, and it sees
// the queries of the nodes that use it (which topics, from which peer id and address).
func exposedStore(listen string, store bool) bool {
	if !store || listen == "" {
		return false // the default listen address is 127.0.0.1
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// warnExposedStore prints the warning of exposedStore.
func warnExposedStore(s *stdio, listen string) {
	fmt.Fprintf(s.err, "chorus: warning: serving Waku store on %s, reachable from other hosts: anyone who can connect "+
		"can read the (encrypted) history it keeps and learns which topics are busy and when, and the nodes that query it "+
		"show it their topics; listen on 127.0.0.1 unless this node is meant to serve others\n", listen)
}
