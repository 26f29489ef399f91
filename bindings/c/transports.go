package main

/*
#include <stdlib.h>
#include "chorus.h"

typedef const char chorus_cchar;
*/
import "C"

import (
	"context"
	"time"

	"github.com/chorus-im/chorus/bindings/c/abijson"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
	"github.com/chorus-im/chorus/transport/waku"
)

// Transports the ABI hands out: memory networks and their nodes, go-waku nodes.

type network struct{ net *memory.Network }

// node is a transport: a memory node or a go-waku node.
type node struct {
	t    protocol.Transport
	waku *waku.Node
	stop func() error
}

//export chorus_memory_network_new
func chorus_memory_network_new(config *C.chorus_cchar, out *C.chorus_network, errOut **C.char) C.int {
	return call(errOut, func() error {
		var cfg abijson.MemoryConfig
		if err := decodeOptional(config, "config_json", &cfg); err != nil {
			return err
		}
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out must not be NULL")
		}
		n := memory.NewNetwork(memory.Config{History: cfg.History, Seed: cfg.Seed, Delay: millis(cfg.DelayMS),
			Jitter: millis(cfg.JitterMS), DropRate: cfg.DropRate, DuplicateRate: cfg.DuplicateRate, ReorderRate: cfg.ReorderRate})
		*out = C.chorus_network(newHandle(&network{net: n}))
		return nil
	})
}

//export chorus_memory_network_close
func chorus_memory_network_close(h C.chorus_network, errOut **C.char) C.int {
	return call(errOut, func() error {
		n, err := lookup[*network](C.uint64_t(h))
		if err != nil {
			return err
		}
		deleteHandle(C.uint64_t(h))
		return n.net.Close()
	})
}

//export chorus_memory_join
func chorus_memory_join(h C.chorus_network, name *C.chorus_cchar, out *C.chorus_transport, errOut **C.char) C.int {
	return call(errOut, func() error {
		n, err := lookup[*network](C.uint64_t(h))
		if err != nil {
			return err
		}
		s, err := goString(name, "name", false)
		if err != nil {
			return err
		}
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out must not be NULL")
		}
		nd := n.net.Join(s)
		*out = C.chorus_transport(newHandle(&node{t: nd, stop: nd.Close}))
		return nil
	})
}

//export chorus_waku_node_new
func chorus_waku_node_new(config *C.chorus_cchar, out *C.chorus_transport, errOut **C.char) C.int {
	return call(errOut, func() error {
		var cfg abijson.WakuConfig
		if err := decodeOptional(config, "config_json", &cfg); err != nil {
			return err
		}
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out must not be NULL")
		}
		timeout := millis(cfg.StartTimeoutMS)
		if timeout <= 0 {
			timeout = 60 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		w, err := waku.New(ctx, waku.Config{ListenAddr: cfg.ListenAddr, Peers: cfg.Peers, StorePeers: cfg.StorePeers,
			MinPeers: cfg.MinPeers, Light: cfg.Light, Service: cfg.Service, Store: cfg.Store, StorePath: cfg.StorePath,
			PublishRate: cfg.PublishRate})
		if err != nil {
			return &callError{code: codeNetwork, err: err}
		}
		*out = C.chorus_transport(newHandle(&node{t: w, waku: w, stop: w.Close}))
		return nil
	})
}

func wakuNode(h C.chorus_transport) (*waku.Node, error) {
	n, err := lookup[*node](C.uint64_t(h))
	if err != nil {
		return nil, err
	}
	if n.waku == nil {
		return nil, errCode(codeInvalidHandle, "chorus: not a go-waku node")
	}
	return n.waku, nil
}

//export chorus_waku_node_listen_addrs
func chorus_waku_node_listen_addrs(h C.chorus_transport, out **C.char, errOut **C.char) C.int {
	return call(errOut, func() error {
		w, err := wakuNode(h)
		if err != nil {
			return err
		}
		addrs := w.ListenAddrs()
		if addrs == nil {
			addrs = []string{}
		}
		return setJSON(out, addrs)
	})
}

//export chorus_waku_node_peer_count
func chorus_waku_node_peer_count(h C.chorus_transport, out *C.int, errOut **C.char) C.int {
	return call(errOut, func() error {
		w, err := wakuNode(h)
		if err != nil {
			return err
		}
		if out == nil {
			return errCode(codeInvalidArgument, "chorus: out must not be NULL")
		}
		*out = C.int(w.PeerCount())
		return nil
	})
}

//export chorus_transport_close
func chorus_transport_close(h C.chorus_transport, errOut **C.char) C.int {
	return call(errOut, func() error {
		n, err := lookup[*node](C.uint64_t(h))
		if err != nil {
			return err
		}
		deleteHandle(C.uint64_t(h))
		return n.stop()
	})
}
