package sqlstore

// GroupWaiting is how many InGroupTx calls wait for the next group.
func (s *Store) GroupWaiting() int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.pending)
}
