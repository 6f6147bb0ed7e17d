package secret

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	key := make([]byte, KeySize)
	rand.Read(key)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	aad := AAD("integration", "acme", "token")
	plain := []byte("glpat-very-secret")
	s1, s2 := b.Seal(plain, aad), b.Seal(plain, aad)
	if bytes.Equal(s1, s2) {
		t.Error("two seals of one value are equal: nonces are not random")
	}
	if bytes.Contains(s1, plain) {
		t.Error("sealed value contains the plaintext")
	}
	if s1[0] != version1 {
		t.Errorf("version byte = %d", s1[0])
	}
	got, err := b.Open(s1, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if got, err := b.Open(b.Seal(nil, aad), aad); err != nil || len(got) != 0 {
		t.Errorf("empty value: %q, %v", got, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	aad := AAD("integration", "acme", "token")
	sealed := b.Seal([]byte("glpat-very-secret"), aad)
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	tests := map[string]struct {
		sealed, aad []byte
		box         *Box
	}{
		"wrong row":        {sealed, AAD("integration", "other", "token"), b},
		"wrong field":      {sealed, AAD("integration", "acme", "webhook_secret"), b},
		"no aad":           {sealed, nil, b},
		"wrong key":        {sealed, aad, newBox(t)},
		"tampered version": {flip(0), aad, b},
		"tampered nonce":   {flip(3), aad, b},
		"tampered body":    {flip(20), aad, b},
		"tampered tag":     {flip(len(sealed) - 1), aad, b},
		"truncated":        {sealed[:len(sealed)-1], aad, b},
		"too short":        {sealed[:10], aad, b},
		"empty":            {nil, aad, b},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got, err := tt.box.Open(tt.sealed, tt.aad); !errors.Is(err, ErrOpen) || got != nil {
				t.Errorf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

func TestAADFieldsDoNotRunTogether(t *testing.T) {
	t.Parallel()
	if bytes.Equal(AAD("integration", "a-b", "c"), AAD("integration", "a", "b-c")) {
		t.Error("AAD is ambiguous")
	}
}

func TestNewBoxKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox accepted a %d-byte key", n)
		}
	}
}
