package waku

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZap returns a zap logger that forwards error-level entries (and above) to l, with
// no stack traces and nothing written anywhere else. Below error, go-waku and
// libp2p-pubsub are too chatty (one line per message at warn).
// zap's own errors (such as an IncreaseLevel below error) are discarded rather than
// printed on stderr. Errors caused by a cancelled context (normal at shutdown) are
// logged at debug level.
func newZap(l *slog.Logger) *zap.Logger {
	return zap.New(&slogCore{l: l}, zap.ErrorOutput(zapcore.AddSync(io.Discard)))
}

type slogCore struct {
	l      *slog.Logger
	fields []zapcore.Field
}

func (c *slogCore) Enabled(lvl zapcore.Level) bool { return lvl >= zapcore.ErrorLevel }

func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	return &slogCore{l: c.l, fields: append(slices.Clip(c.fields), fs...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fs {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys)+1)
	attrs = append(attrs, slog.String("component", strings.TrimSpace("waku "+e.LoggerName)))
	level := slog.LevelError
	for _, k := range keys {
		v := enc.Fields[k]
		if s, ok := v.(string); ok && strings.Contains(s, context.Canceled.Error()) {
			level = slog.LevelDebug
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	c.l.LogAttrs(context.Background(), level, e.Message, attrs...)
	return nil
}

func (c *slogCore) Sync() error { return nil }
