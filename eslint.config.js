import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Imports only go down: cli → actions/wizard → phases (planners), bundle → gather/lb/distros/ssh → spec/ui →
 * core. Each layer may not import from a layer above it; only src/ssh/ talks to ssh2.
 * test/unit/architecture/imports.test.ts checks the same order and that there is no import cycle.
 */
const LAYERS = [
  ["cli"],
  ["actions", "wizard"],
  ["phases", "bundle"],
  ["gather", "lb", "distros", "ssh"],
  ["spec", "ui"],
  ["core"],
];
const SSH2 = { name: "ssh2", message: "Only src/ssh/ talks to ssh2." };
function layerRules() {
  return LAYERS.flatMap((layer, i) => {
    const above = LAYERS.slice(0, i).flat();
    return layer.map((dir) => ({
      files: [`src/${dir}/**/*.ts`],
      rules: {
        "no-restricted-imports": [
          "error",
          {
            paths: dir === "ssh" ? [] : [SSH2],
            patterns: above.length
              ? [
                  {
                    group: above.map((d) => `**/${d}/**`),
                    message: `src/${dir} may only import from its own layer or below (${LAYERS.slice(i).flat().join(", ")}).`,
                  },
                ]
              : [],
          },
        ],
      },
    }));
  });
}

export default tseslint.config(
  { ignores: ["dist/**", "dist-single/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...layerRules(),
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        Buffer: "readonly",
        URL: "readonly",
      },
    },
    rules: { "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }] },
  },
);
