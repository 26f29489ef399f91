//go:build gowaku_no_rln

package waku

import (
	"context"
	"time"

	"github.com/chorus-im/chorus/transport"

	"github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"go.uber.org/zap"
)

// RLNAvailable reports whether this build links zerokit (built without gowaku_no_rln).
const RLNAvailable = false

// rlnMember is absent in this build.
type rlnMember struct{}

func (n *Node) startRLN(context.Context, *RLNConfig, *zap.Logger) error { return ErrRLNUnavailable }

func (*rlnMember) prove(*pb.WakuMessage) error     { return ErrRLNUnavailable }
func (*rlnMember) stats() RLNStats                 { return RLNStats{} }
func (*rlnMember) close()                          {}
func (*rlnMember) quota(time.Time) transport.Quota { return transport.Quota{} }
func (*rlnMember) check() error                    { return ErrRLNUnavailable }

// NewRLNCredential fails with ErrRLNUnavailable in this build.
func NewRLNCredential() (RLNCredential, error) { return RLNCredential{}, ErrRLNUnavailable }

// NewRLNCredentials fails with ErrRLNUnavailable in this build.
func NewRLNCredentials(int) ([]RLNCredential, error) { return nil, ErrRLNUnavailable }
