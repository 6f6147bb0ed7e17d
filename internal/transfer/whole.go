package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// wholeInMemory is how much of a Whole body stays in memory; answers of
// GitLab's API are almost all far smaller.
const wholeInMemory = 1 << 20

// readWhole reads r to its end: up to wholeInMemory bytes into memory, the
// rest into an unlinked temporary file.
func readWhole(r io.Reader) (io.ReadCloser, error) {
	var head bytes.Buffer
	if _, err := io.CopyN(&head, r, wholeInMemory); errors.Is(err, io.EOF) {
		return io.NopCloser(&head), nil
	} else if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "hoist-answer-*")
	if err != nil {
		return nil, fmt.Errorf("spool a large answer: %w", err)
	}
	// Readable by the server's user only (CreateTemp's 0600), and unlinked
	// at once: the space is freed with the last close, even after a crash
	// (where the system allows removing an open file).
	_ = os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &spooled{Reader: io.MultiReader(&head, f), f: f}, nil
}

// spooled is a Whole body that did not fit in memory.
type spooled struct {
	io.Reader
	f *os.File
}

func (s *spooled) Close() error {
	err := s.f.Close()
	_ = os.Remove(s.f.Name()) // where the first removal failed
	return err
}
