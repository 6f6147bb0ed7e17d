// Package arch holds no code of the program: its tests keep the code's
// shape (every package documented; which packages may import which).
package arch
