package phone

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/recording"
)

// playStop is the FILE that stops what plays (play stop [CALL]).
const playStop = "stop"

// player is a WAV file playing into a call in place of its input device.
type player struct {
	path string
	in   audio.Input
	once sync.Once
	done chan struct{} // closed when the play has ended
}

// PlayResult is the result of Play.
type PlayResult struct {
	Call string `json:"call"`
	File string `json:"file"`
	Loop bool   `json:"loop,omitempty"`
	// Stopped is set by play stop: whether something was playing.
	Stopped *bool `json:"stopped,omitempty"`
}

// Play plays a WAV file into the call (args' call, else the active one)
// once it is established, in place of the input device, which resumes at
// the file's end; play.ended follows. A file already playing on the call
// is stopped first. FILE "stop" stops the file playing.
func (p *Phone) Play(ctx context.Context, args command.Args) (any, error) {
	file := args.String("file")
	if file == playStop {
		return p.stopPlay(args)
	}
	// The file is opened first: a missing or bad file changes nothing and
	// waits for nothing.
	in, err := audio.OpenWAV(file, args.Bool("loop"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, command.Errorf(command.CodeBadArgs, "play: no such file %s", file)
		}
		return nil, command.Errorf(command.CodeBadArgs, "play: %v", err)
	}
	c, cerr := p.establishedCall(ctx, args)
	if cerr != nil {
		in.Close()
		return nil, cerr
	}
	defer c.cmd.Unlock()
	pl := &player{path: file, in: in, done: make(chan struct{})}
	var ca *callAudio
	cerr = p.withCallAudio(c, func(a *callAudio) {
		ca = a
		if old := ca.play.Swap(pl); old != nil {
			p.endPlay(c, ca, old, true)
		}
	})
	if cerr != nil {
		in.Close()
		return nil, cerr
	}
	go func() {
		select {
		case <-in.Done():
			// Played out, unless the call's audio let go of it first
			// (the call or the daemon ended, which close the file).
			p.endPlay(c, ca, pl, ca.play.Load() != pl)
		case <-pl.done:
		}
	}()
	return PlayResult{Call: c.id, File: file, Loop: args.Bool("loop")}, nil
}

// stopPlay stops the file playing into the call, if one is.
func (p *Phone) stopPlay(args command.Args) (any, error) {
	if args.Bool("loop") {
		return nil, command.Errorf(command.CodeBadArgs, "play stop takes no --loop")
	}
	c, cerr := p.findCall(args, targetCall, "active")
	if cerr != nil {
		return nil, cerr
	}
	stopped := false
	if ca := p.au.existingCallAudio(c.sc.SIPCallID()); ca != nil {
		if pl := ca.play.Load(); pl != nil {
			stopped = p.endPlay(c, ca, pl, true)
		}
	}
	return PlayResult{Call: c.id, File: playStop, Stopped: &stopped}, nil
}

// endPlay ends pl, once: the call's input device resumes, the file is
// closed and play.ended published. It reports whether this call ended it.
func (p *Phone) endPlay(c *call, ca *callAudio, pl *player, stopped bool) bool {
	ended := false
	pl.once.Do(func() {
		ended = true
		if ca != nil {
			ca.play.CompareAndSwap(pl, nil)
		}
		close(pl.done)
		pl.in.Close()
		p.publish(c, events.PlayEnded, func(e *events.Event) { e.Path, e.Stopped = pl.path, &stopped })
	})
	return ended
}

// withCallAudio runs f on the call's audio, made now if its media has not
// started yet. The call's end (setState, then callEnded) cannot pass
// between the check and f, so what f attaches is ended with the call.
func (p *Phone) withCallAudio(c *call, f func(ca *callAudio)) *command.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateEnded {
		return command.Errorf(command.CodeWrongState, "call %s has ended", c.id)
	}
	f(p.au.CallAudio(c.sc.SIPCallID()).(*callAudio))
	return nil
}

// RecordResult is the result of Record.
type RecordResult struct {
	Call string `json:"call"`
	Path string `json:"path"` // the recording's file
}

// Record starts (args' action "start") or stops ("stop") recording the
// call, args' call or else the active one.
func (p *Phone) Record(_ context.Context, args command.Args) (any, error) {
	c, cerr := p.findCall(args, targetCall, "active")
	if cerr != nil {
		return nil, cerr
	}
	if args.String("action") == "stop" {
		path, cerr := p.stopRecording(c)
		if cerr != nil {
			return nil, cerr
		}
		return RecordResult{Call: c.id, Path: path}, nil
	}
	path, cerr := p.startRecording(c)
	if cerr != nil {
		return nil, cerr
	}
	return RecordResult{Call: c.id, Path: path}, nil
}

// startRecording starts recording c into a new file in recordingPath and
// returns its path; a call already recorded keeps its recording. The file
// is made outside the call's lock, which new calls' handling takes too: a
// slow disk holds up only this command.
func (p *Phone) startRecording(c *call) (string, *command.Error) {
	c.mu.Lock()
	cur, ended := c.recording, c.state == stateEnded
	c.mu.Unlock()
	if ended {
		return "", command.Errorf(command.CodeWrongState, "call %s has ended", c.id)
	}
	if cur != "" {
		return cur, nil
	}
	r, err := recording.Create(p.cfg.RecordingPath, time.Now(), c.number, c.id, p.log)
	if err != nil {
		return "", command.Errorf(command.CodeUnavailable, "recording call %s: %v (recordingPath)", c.id, err)
	}
	var path string
	attached := false
	cerr := p.withCallAudio(c, func(ca *callAudio) {
		if c.recording != "" { // started meanwhile
			path = c.recording
			return
		}
		ca.rec.Store(r)
		path, c.recording, c.recorded = r.Path(), r.Path(), r.Path()
		attached = true
	})
	if !attached { // the call ended, or has a recording: this file is not one
		r.Close()
		os.Remove(r.Path())
	}
	if cerr != nil {
		return "", cerr
	}
	return path, nil
}

// stopRecording stops recording c, closes the file and publishes
// recording.saved.
func (p *Phone) stopRecording(c *call) (string, *command.Error) {
	var r *recording.Recorder
	if ca := p.au.existingCallAudio(c.sc.SIPCallID()); ca != nil {
		r = ca.rec.Swap(nil)
	}
	if r == nil {
		return "", command.Errorf(command.CodeWrongState, "call %s is not being recorded", c.id)
	}
	p.saveRecording(c, r)
	return r.Path(), nil
}

// saveRecording closes r, the recording of c, and publishes recording.saved.
func (p *Phone) saveRecording(c *call, r *recording.Recorder) {
	c.mu.Lock()
	if c.recording == r.Path() {
		c.recording = ""
	}
	c.mu.Unlock()
	dropped, err := r.Close()
	if err != nil {
		p.log.Error("recording: closing", "call", c.id, "path", r.Path(), "error", err)
	}
	if dropped > 0 {
		p.log.Warn("recording: audio dropped, the disk was slower than the call", "call", c.id, "path", r.Path(), "dropped", dropped)
	}
	p.publish(c, events.RecordingSaved, func(e *events.Event) { e.Path = r.Path() })
}

// endCallAudio ends what played into the ended call c and its recording.
func (p *Phone) endCallAudio(c *call, pl *player, r *recording.Recorder) {
	if pl != nil {
		p.endPlay(c, nil, pl, true)
	}
	if r != nil {
		p.saveRecording(c, r)
	}
}

// repairRecordings gives back the audio of recordings a crash (kill -9,
// power loss) left with stale WAV headers.
func (p *Phone) repairRecordings() {
	repaired, err := recording.RepairDir(p.cfg.RecordingPath)
	if err != nil {
		p.log.Warn("recording: repairing recordings", "dir", p.cfg.RecordingPath, "error", err)
	}
	for _, path := range repaired {
		p.log.Info("recording: repaired a recording cut short", "path", path)
	}
}
