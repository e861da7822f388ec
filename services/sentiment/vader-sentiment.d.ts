// Types for the vader-sentiment package (a JavaScript port of VADER), which ships none. Only what Pulse uses.
declare module 'vader-sentiment' {
  /** VADER's scores of one text: proportions (3 decimals) and the normalised compound score (4 decimals). */
  export interface PolarityScores {
    neg: number;
    neu: number;
    pos: number;
    compound: number;
  }

  export const SentimentIntensityAnalyzer: {
    polarity_scores(text: string): PolarityScores;
  };
}
