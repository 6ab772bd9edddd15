import { Alert, Badge, Checkbox, Text, Tooltip } from '@mantine/core';
import type { Asset, Recipe } from '../../../shared/api';
import { addsColour } from '../../../shared/ops';

/** The asset already has colour and the recipe colorizes: rendering it needs an explicit "anyway". */
export const colourBlocks = (asset: Asset, recipe: Recipe, anyway: boolean): boolean =>
  !!asset.colour?.colour && addsColour(recipe.ops) && !anyway;

/** On a library card: the picture already has colour (colorize would replace it). */
export function ColourBadge(props: { asset: Asset }) {
  if (!props.asset.colour?.colour) return null;
  return (
    <Tooltip label={`Already in colour: ${props.asset.colour.reason}`} multiline w={260}>
      <Badge
        size="xs"
        variant="filled"
        color="yellow.3"
        c="dark.9"
        style={{ position: 'absolute', bottom: 6, left: 6 }}
        data-testid="colour-badge"
      >
        in colour
      </Badge>
    </Tooltip>
  );
}

/** In the asset view, under the recipe: says the picture has colour and lets people colorize it anyway. */
export function ColourNotice(props: {
  asset: Asset;
  recipe: Recipe;
  anyway: boolean;
  onAnyway: (v: boolean) => void;
}) {
  const { asset, recipe } = props;
  if (!asset.colour?.colour || !addsColour(recipe.ops)) return null;
  const what = asset.kind === 'video' ? 'film' : 'photo';
  return (
    <Alert color="yellow" p="xs" title={`This ${what} is already in colour`} data-testid="colour-warning">
      <Text size="xs">
        It has different colours at the same brightness. Colorize keeps the brightness and replaces the
        colours with the model&apos;s guess, so its own would be lost. Batches leave it out unless told
        otherwise.
      </Text>
      <Checkbox
        mt={6}
        size="xs"
        label="Colorize it anyway"
        checked={props.anyway}
        onChange={(e) => props.onAnyway(e.currentTarget.checked)}
        data-testid="colour-anyway"
      />
    </Alert>
  );
}
