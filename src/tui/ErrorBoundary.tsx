import React from 'react';
import { Box, Text } from 'ink';

interface State { error: Error | null }

/** Shows a crash instead of leaving a broken terminal; quitting still restores it. */
export class ErrorBoundary extends React.Component<{ children: React.ReactNode; log: (m: string, e?: unknown) => void }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error) {
    this.props.log('render crashed', error);
  }

  override render() {
    if (this.state.error) {
      return (
        <Box flexDirection="column">
          <Text bold>chat crashed: {this.state.error.message.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}</Text>
          <Text>Press Ctrl+C to quit. Details are in the log file.</Text>
        </Box>
      );
    }
    return this.props.children;
  }
}
