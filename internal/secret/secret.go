// Package secret encrypts values at rest and mints random secrets.
//
// A [Box] seals with AES-256-GCM under one key: a random 96-bit nonce per
// message, a version byte in front (so the format can change), and
// associated data that binds each ciphertext to the row and field it belongs
// to — a sealed token copied into another row or field does not open.
//
// The key comes from HOIST_ENCRYPTION_KEY (standard base64 of exactly 32
// bytes) or from <data-dir>/encryption-key, generated on first use with mode
// 0600 (see [LoadKey]).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the length of an encryption key in bytes (AES-256).
const KeySize = 32

// version1 marks AES-256-GCM with a 12-byte random nonce.
const version1 byte = 1

// ErrOpen is returned (wrapped) when a ciphertext does not open: a wrong key,
// wrong associated data, or tampering. It says nothing more on purpose.
var ErrOpen = errors.New("secret: message authentication failed")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: encryption key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// AAD returns associated data naming where a sealed value lives, e.g.
// AAD("integration", "acme-gitlab", "token").
func AAD(table, id, field string) []byte {
	return []byte(table + "\x00" + id + "\x00" + field)
}

// Seal encrypts plain, binding it to aad. The result is
// version || nonce || ciphertext+tag.
func (b *Box) Seal(plain, aad []byte) []byte {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+b.aead.Overhead())
	out[0] = version1
	rand.Read(out[1 : 1+ns]) // crypto/rand.Read never fails (it crashes the program instead)
	return b.aead.Seal(out, out[1:1+ns], plain, b.additional(aad))
}

// Open decrypts a value sealed by Seal with the same aad. Any mismatch gives
// an error wrapping ErrOpen.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() {
		return nil, fmt.Errorf("sealed value too short (%d bytes): %w", len(sealed), ErrOpen)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("unknown sealed format version %d: %w", sealed[0], ErrOpen)
	}
	plain, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], b.additional(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// additional prefixes aad with the version so a future format cannot be
// confused with this one.
func (b *Box) additional(aad []byte) []byte {
	return append([]byte{version1}, aad...)
}
