package pipeline

import (
	"context"
	"time"
)

// defaultStopGrace is how long a stop (SIGTERM) lets a commit that is in
// flight go on: commits take well under a second, so almost every stop
// that lands in one lets it finish and then makes the final commit, with
// --drain. A commit still hung after it is abandoned, and the tables stay
// at the commit before (a restart resumes from there).
const defaultStopGrace = 10 * time.Second

// commitContext is the context of a commit the loop starts: unlike ctx it
// is cancelled only grace after ctx is, so a stop does not cut a commit
// short. The returned function releases it.
func commitContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-cctx.Done():
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-cctx.Done():
		case <-t.C:
			cancel()
		}
	}()
	return cctx, cancel
}
